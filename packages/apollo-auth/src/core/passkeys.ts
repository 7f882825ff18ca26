import {
  WebAuthnAbortService,
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { AuthError, type Auth, type GraphQLResponse, type LogInResult } from './auth.js';

/*
 * Passkeys with tokengate (docs/api.md, "Passkeys (WebAuthn)"): each helper
 * runs one ceremony end to end — the server's start mutation, the browser's
 * WebAuthn call through @simplewebauthn/browser, the server's finish
 * mutation — and, for a sign-in, hands the pair to the kit like logIn does.
 */

/** A passkey as tokengate lists it. */
export interface PasskeyInfo {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly backedUp: boolean;
  readonly transports: readonly string[];
}

const PASSKEY_FIELDS = 'id name createdAt lastUsedAt backedUp transports';
const PAIR_FIELDS = 'accessToken refreshToken expiresIn user { id username roles }';
const OPERATIONS = {
  startRegistration: 'mutation StartPasskeyRegistration { startPasskeyRegistration }',
  finishRegistration: `mutation FinishPasskeyRegistration($response: JSONObject!, $name: String) { finishPasskeyRegistration(response: $response, name: $name) { ${PASSKEY_FIELDS} } }`,
  startLogin: 'mutation StartPasskeyLogin($username: String) { startPasskeyLogin(username: $username) }',
  finishLogin: `mutation FinishPasskeyLogin($response: JSONObject!) { finishPasskeyLogin(response: $response) { ${PAIR_FIELDS} } }`,
} as const;

/** The field's value, or the first error as an AuthError. */
function dataOf<T>(response: GraphQLResponse, field: string): T {
  const value = response.data?.[field];
  if (value !== undefined && value !== null) return value as T;
  const error = response.errors?.[0];
  throw new AuthError(error?.message ?? 'tokengate answered no data', String(error?.extensions?.code ?? 'INTERNAL_SERVER_ERROR'), error?.extensions ?? {});
}

/** Whether this browser can use passkeys at all (WebAuthn present). */
export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

/** Whether this browser offers passkeys in a username field's autofill (conditional UI). */
export function passkeyAutofillSupported(): Promise<boolean> {
  return browserSupportsWebAuthnAutofill();
}

/**
 * Registers a passkey for the signed-in user: needs a fresh token (right
 * after a sign-in), else AuthError FRESH_TOKEN_REQUIRED. Rejects with the
 * browser's error when the person cancels (NotAllowedError), or AuthError
 * INVALID_PASSKEY when the server refuses the credential.
 */
export async function registerPasskey(auth: Auth, options: { readonly name?: string } = {}): Promise<PasskeyInfo> {
  const optionsJSON = dataOf<PublicKeyCredentialCreationOptionsJSON>(await auth.request(OPERATIONS.startRegistration), 'startPasskeyRegistration');
  const response = await startRegistration({ optionsJSON });
  return dataOf<PasskeyInfo>(await auth.request(OPERATIONS.finishRegistration, { response, name: options.name ?? null }), 'finishPasskeyRegistration');
}

/**
 * Signs in with a passkey. Without `username` any passkey of this site may
 * answer (the browser lists them). With `conditional: true` the browser waits
 * for the person to pick a passkey in the autofill of an input with
 * `autocomplete="username webauthn"` (call it on page load; a later ceremony,
 * or abortPasskeyAutofill(), cancels it). Resolves like logIn: signed in, or
 * the TOTP step when the authenticator did not verify the user and TOTP is on.
 */
export async function signInWithPasskey(auth: Auth, options: { readonly username?: string; readonly conditional?: boolean } = {}): Promise<LogInResult> {
  const optionsJSON = dataOf<PublicKeyCredentialRequestOptionsJSON>(await auth.request(OPERATIONS.startLogin, { username: options.username ?? null }), 'startPasskeyLogin');
  const response = await startAuthentication({ optionsJSON, useBrowserAutofill: options.conditional === true });
  return auth.completeSignIn(await auth.request(OPERATIONS.finishLogin, { response }), 'finishPasskeyLogin');
}

/** Cancels a pending conditional (autofill) passkey request, e.g. before a password login. */
export function abortPasskeyAutofill(): void {
  WebAuthnAbortService.cancelCeremony();
}
