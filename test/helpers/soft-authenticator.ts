import { createHash, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/*
 * A software WebAuthn authenticator for tests: real key pairs (node:crypto,
 * ES256 on P-256 or RS256 on 2048-bit RSA), real CBOR attestation objects
 * (format "none"), real authenticator data (rpIdHash, flags, counter,
 * attested credential data with a COSE key) and real assertion signatures
 * over authenticatorData || SHA-256(clientDataJSON). It plays the browser's
 * part too (clientDataJSON with type, challenge and origin), and answers the
 * WebAuthn Level 3 JSON forms @simplewebauthn/browser gives a server.
 *
 * Every field a relying party checks can be bent per call (origin, RP ID,
 * flags, counter, challenge, signature, user handle), so each refusal test
 * changes exactly one thing of an otherwise valid ceremony.
 */

/** Authenticator data flags (WebAuthn §6.1). */
export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

/** COSE algorithm ids. */
export type CoseAlgorithm = -7 | -257;

/** A credential the authenticator holds (a discoverable one: it keeps the user handle). */
export interface SoftCredential {
  /** The credential id, base64url. */
  readonly id: string;
  readonly rpId: string;
  /** The user handle the RP gave at registration, base64url. */
  readonly userHandle: string;
  readonly alg: CoseAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The signature counter; each assertion adds `counterStep` (0: a synced passkey that never counts). */
  counter: number;
}

/** What a test may bend in one ceremony. */
export interface CeremonyOverrides {
  /** clientDataJSON.origin (default: the authenticator's origin). */
  readonly origin?: string;
  /** The RP ID whose SHA-256 goes into authenticatorData (default: the options' RP ID). */
  readonly rpIdForHash?: string;
  /** clientDataJSON.challenge (default: the options' challenge). */
  readonly challenge?: string;
  /** clientDataJSON.type (default webauthn.create / webauthn.get). */
  readonly type?: string;
  /** User present (default true). */
  readonly up?: boolean;
  /** User verified (default: the authenticator's `uv`). */
  readonly uv?: boolean;
  /** The counter written into authenticatorData, instead of the next one. */
  readonly counter?: number;
}

/** Overrides of an assertion only. */
export interface AssertionOverrides extends CeremonyOverrides {
  /** Which held credential answers (default: the first one the options allow, or the first one held for the RP). */
  readonly credentialId?: string;
  /** Flip a bit of the signature. */
  readonly corruptSignature?: boolean;
  /** The userHandle sent (default: the credential's; null to send none). */
  readonly userHandle?: string | null;
  /** Sign with another credential's key while naming this one. */
  readonly signWith?: SoftCredential;
}

/** Overrides of a registration only. */
export interface RegistrationOverrides extends CeremonyOverrides {
  /** Use this credential id instead of a fresh random one (a second account claiming a known id). */
  readonly credentialId?: string;
  /** Algorithm of the new key (default: the authenticator's). */
  readonly alg?: CoseAlgorithm;
}

/** The JSON forms (what @simplewebauthn/browser answers). */
export interface RegistrationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform' | 'cross-platform';
}
export interface AuthenticationResponseJSON {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: 'platform' | 'cross-platform';
}

/** The parts of creation options the authenticator reads. */
export interface CreationOptions {
  readonly challenge: string;
  readonly rp: { readonly id?: string; readonly name: string };
  readonly user: { readonly id: string; readonly name: string };
  readonly pubKeyCredParams: readonly { readonly alg: number }[];
  readonly excludeCredentials?: readonly { readonly id: string }[];
}

/** The parts of request options the authenticator reads. */
export interface RequestOptions {
  readonly challenge: string;
  readonly rpId?: string;
  readonly allowCredentials?: readonly { readonly id: string }[];
}

/** A software authenticator (and the browser around it). */
export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  readonly origin: string;
  readonly uv: boolean;
  readonly alg: CoseAlgorithm;
  readonly counterStep: number;
  readonly backedUp: boolean;
  /** The AAGUID this model reports (16 bytes). */
  readonly aaguid = Buffer.alloc(16, 0x5a);

  constructor(options: { origin: string; uv?: boolean; alg?: CoseAlgorithm; counterStep?: number; backedUp?: boolean }) {
    this.origin = options.origin;
    this.uv = options.uv ?? true;
    this.alg = options.alg ?? -7;
    this.counterStep = options.counterStep ?? 1;
    this.backedUp = options.backedUp ?? false;
  }

  /** Makes a credential for the options (navigator.credentials.create) and answers RegistrationResponseJSON. */
  register(options: CreationOptions, overrides: RegistrationOverrides = {}): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id));
    if (this.credentials.some((c) => excluded.has(c.id) && c.rpId === rpId)) throw new Error('InvalidStateError: this authenticator already holds an excluded credential');
    const alg = overrides.alg ?? this.alg;
    if (!options.pubKeyCredParams.some((p) => p.alg === alg)) throw new Error(`NotSupportedError: the RP does not offer alg ${alg}`);
    const keys = alg === -7 ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const credential: SoftCredential = {
      id: overrides.credentialId ?? randomBytes(32).toString('base64url'),
      rpId,
      userHandle: options.user.id,
      alg,
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      counter: overrides.counter ?? 0,
    };
    const clientDataJSON = this.clientData(overrides.type ?? 'webauthn.create', overrides.challenge ?? options.challenge, overrides.origin);
    const credentialId = Buffer.from(credential.id, 'base64url');
    const attested = Buffer.concat([this.aaguid, u16(credentialId.length), credentialId, cbor(coseKey(credential))]);
    const authData = Buffer.concat([
      sha256(overrides.rpIdForHash ?? rpId),
      Buffer.from([this.flags(overrides) | FLAGS.AT]),
      u32(credential.counter),
      attested,
    ]);
    const attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    this.credentials.push(credential);
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['internal', 'hybrid'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** Signs an assertion for the options (navigator.credentials.get) and answers AuthenticationResponseJSON. */
  authenticate(options: RequestOptions, overrides: AssertionOverrides = {}): AuthenticationResponseJSON {
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const credential = overrides.credentialId
      ? this.credentials.find((c) => c.id === overrides.credentialId)
      : this.credentials.find((c) => c.rpId === rpId && (allowed.length === 0 || allowed.includes(c.id)));
    if (!credential) throw new Error('NotAllowedError: no credential for this RP');
    if (overrides.counter !== undefined) credential.counter = overrides.counter;
    else credential.counter += this.counterStep;
    const clientDataJSON = this.clientData(overrides.type ?? 'webauthn.get', overrides.challenge ?? options.challenge, overrides.origin);
    const authData = Buffer.concat([sha256(overrides.rpIdForHash ?? rpId), Buffer.from([this.flags(overrides)]), u32(credential.counter)]);
    const signer = overrides.signWith ?? credential;
    let signature = createSign('sha256').update(Buffer.concat([authData, sha256(clientDataJSON)])).sign(signer.privateKey);
    if (overrides.corruptSignature) {
      signature = Buffer.from(signature);
      signature[signature.length - 1] ^= 0x01;
    }
    const userHandle = overrides.userHandle === undefined ? credential.userHandle : overrides.userHandle;
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private flags(overrides: CeremonyOverrides): number {
    let flags = 0;
    if (overrides.up ?? true) flags |= FLAGS.UP;
    if (overrides.uv ?? this.uv) flags |= FLAGS.UV;
    if (this.backedUp) flags |= FLAGS.BE | FLAGS.BS;
    return flags;
  }

  private clientData(type: string, challenge: string, origin = this.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }
}

/** The credential's public key as a COSE_Key map (RFC 9053). */
function coseKey(credential: SoftCredential): Map<number, unknown> {
  const jwk = credential.publicKey.export({ format: 'jwk' });
  if (credential.alg === -7) {
    return new Map<number, unknown>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
  }
  return new Map<number, unknown>([
    [1, 3], // kty: RSA
    [3, -257], // alg: RS256
    [-1, Buffer.from(jwk.n!, 'base64url')],
    [-2, Buffer.from(jwk.e!, 'base64url')],
  ]);
}

function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A minimal CBOR encoder (RFC 8949): unsigned and negative integers, byte and text strings, maps (in insertion order). */
export function cbor(value: unknown): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error('cbor: integers only');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Map) {
    const parts = [head(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return Buffer.concat(parts);
  }
  throw new Error(`cbor: cannot encode ${typeof value}`);
}

function head(major: number, n: number): Buffer {
  const m = major << 5;
  if (n < 24) return Buffer.from([m | n]);
  if (n < 0x100) return Buffer.from([m | 24, n]);
  if (n < 0x10000) return Buffer.concat([Buffer.from([m | 25]), u16(n)]);
  return Buffer.concat([Buffer.from([m | 26]), u32(n)]);
}
