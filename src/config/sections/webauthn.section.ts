import { isIP } from 'node:net';
import { z } from 'zod';
import type { ConfigSection } from '../section.js';
import type { NodeEnv } from './environment.section.js';

/** Passkey settings (docs/api.md, "Passkeys (WebAuthn)"): the relying party the browser checks ceremonies against. */
export interface WebAuthnConfig {
  /** The RP ID: the domain passkeys are bound to (the origins' host or a registrable suffix of it). */
  readonly rpId: string;
  /** The name authenticators show next to the passkey. */
  readonly rpName: string;
  /** The exact origins (`scheme://host[:port]`) a ceremony's `clientDataJSON.origin` may name. */
  readonly origins: readonly string[];
}

const fields = {
  WEBAUTHN_RP_ID: z.string().trim().toLowerCase().optional(),
  WEBAUTHN_RP_NAME: z.string().trim().min(1).max(64, { message: 'WEBAUTHN_RP_NAME must be at most 64 characters' }).default('tokengate'),
  WEBAUTHN_ORIGINS: z.string().optional(),
};

/** What the section reads of the others. */
interface Reads {
  readonly NODE_ENV: NodeEnv;
  readonly PORT: number;
  readonly PUBLIC_URL?: string | undefined;
}

/** A hostname as an RP ID may name it: lowercase labels of letters, digits and hyphens. */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The origin of an http(s) URL as the browser writes it in clientDataJSON (`https://host[:port]`, no default port, no path), or null. */
export function originOf(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  return url.origin;
}

/** Whether a host is a loopback name a browser treats as a secure context over plain http. */
function isLocalhost(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * Whether `rpId` may serve an origin on `host`: it must be the host itself or
 * a suffix of it at a label boundary (HTML's "registrable domain suffix"); the
 * browser refuses the ceremony otherwise, so refusing at start-up turns a
 * silent "passkeys never work" into a clear message.
 */
export function rpIdServesHost(rpId: string, host: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/** The origin of `url` when browsers allow passkeys on it (a domain name, https or localhost), else null. */
function passkeyOriginOf(url: string): string | null {
  const origin = originOf(url);
  if (origin === null) return null;
  const { protocol, hostname } = new URL(origin);
  if (isIP(hostname.replace(/^\[|\]$/g, '')) !== 0 || !DOMAIN.test(hostname)) return null;
  return protocol === 'https:' || isLocalhost(hostname) ? origin : null;
}

/** The defaults and the parsed list, shared by check and build. */
function resolve(e: { WEBAUTHN_RP_ID?: string | undefined; WEBAUTHN_ORIGINS?: string | undefined } & Reads): { rpId: string; origins: string[] } {
  // A PUBLIC_URL browsers cannot run passkeys on (an IP address, plain http off localhost) gives no defaults:
  // it is a valid address for mail links, and passkeys then need WEBAUTHN_* set explicitly.
  const publicOrigin = e.PUBLIC_URL ? passkeyOriginOf(e.PUBLIC_URL) : null;
  const rpId = e.WEBAUTHN_RP_ID ?? (publicOrigin ? new URL(publicOrigin).hostname : 'localhost');
  let origins: string[];
  if (e.WEBAUTHN_ORIGINS !== undefined) {
    origins = e.WEBAUTHN_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== '');
  } else {
    origins = publicOrigin ? [publicOrigin] : [];
    // Outside production the server's own address works too (the explorer on localhost), when the RP ID can serve it.
    if (e.NODE_ENV !== 'production' && rpId === 'localhost') origins.push(`http://localhost:${e.PORT}`);
  }
  return { rpId, origins: [...new Set(origins)] };
}

/** WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS (PUBLIC_URL is the mail section's; its origin is the default here). */
export const webauthnSection: ConfigSection<typeof fields, { readonly webauthn: WebAuthnConfig }, Reads> = {
  title: 'Passkeys (WebAuthn)',
  notes:
    'See [Passkeys](../guides/passkeys.md). The defaults follow `PUBLIC_URL` (see Email): its host is the RP ID and its origin the one allowed origin, when browsers allow passkeys there (a domain name over https, or localhost); a `PUBLIC_URL` on an IP address or plain http gives no defaults. Start-up refuses an RP ID that is not the host, or a registrable suffix of the host, of every origin.',
  fields,
  docs: {
    WEBAUTHN_RP_ID: {
      default: 'the host of `PUBLIC_URL`, else `localhost`',
      description:
        'The domain passkeys are bound to, e.g. `example.com` for origins `https://auth.example.com` and `https://app.example.com`. A bare host name without a port or scheme; not an IP address; must be the host of every origin or a suffix of it at a dot. Changing it later orphans every registered passkey.',
    },
    WEBAUTHN_RP_NAME: 'The name authenticators show beside the passkey (at most 64 characters).',
    WEBAUTHN_ORIGINS: {
      default: 'the origin of `PUBLIC_URL`, plus `http://localhost:<PORT>` outside production when the RP ID is `localhost`',
      description:
        'Comma-separated exact origins the browser may run ceremonies from (`https://host[:port]`, no path), e.g. `https://app.example.com,https://auth.example.com`. `https` only, except on `localhost`.',
    },
  },
  check: ({ parsed }) => {
    if (parsed === undefined) return [];
    const problems: string[] = [];
    const { rpId, origins } = resolve(parsed);
    const rpIdIsDomain = DOMAIN.test(rpId) && isIP(rpId) === 0;
    if (!rpIdIsDomain) {
      problems.push(`WEBAUTHN_RP_ID must be a domain name such as example.com (no scheme, port, path or IP address); got "${rpId}"`);
    } else if (!rpId.includes('.') && rpId !== 'localhost') {
      problems.push(`WEBAUTHN_RP_ID "${rpId}" is a single label: use a registrable domain such as example.com (or localhost)`);
    }
    for (const origin of origins) {
      const exact = originOf(origin);
      if (exact === null || exact !== origin.replace(/\/+$/, '') || origin.includes('*')) {
        problems.push(`WEBAUTHN_ORIGINS entry "${origin}" must be an exact origin such as https://app.example.com (no path, query or wildcard)`);
        continue;
      }
      const { protocol, hostname } = new URL(exact);
      if (protocol === 'http:' && !isLocalhost(hostname)) {
        problems.push(`WEBAUTHN_ORIGINS entry "${origin}" must use https (browsers allow passkeys over http only on localhost)`);
      }
      if (rpIdIsDomain && !rpIdServesHost(rpId, hostname)) {
        problems.push(`WEBAUTHN_RP_ID "${rpId}" is not the host nor a registrable suffix of the host of origin ${exact}: browsers would refuse every passkey there`);
      }
    }
    return problems;
  },
  build: (e) => {
    const { rpId, origins } = resolve(e);
    return {
      webauthn: Object.freeze({ rpId, rpName: e.WEBAUTHN_RP_NAME, origins: Object.freeze(origins.map((o) => originOf(o) ?? o)) }),
    };
  },
};
