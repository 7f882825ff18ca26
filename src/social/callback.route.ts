import type { FeatureRoute } from '../core/feature.js';
import { BINDING_COOKIE, CALLBACK_PREFIX, type SocialService } from './social.service.js';

/** Reads one cookie from a Cookie header (the binding cookie is base64url: no decoding needed). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

const PAGE_STYLE = 'body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222;line-height:1.5}h1{font-size:1.4rem}';

/**
 * `GET /oauth/callback/<name>`: where the provider sends the browser back.
 * The service decides; this only translates its outcome to HTTP. Neither
 * the answer nor any log line carries the provider's code or the state;
 * the one-time code travels in the fragment, which browsers never send to
 * a server, and `Referrer-Policy: no-referrer` keeps this URL (with the
 * provider's code) out of the next page's Referer.
 */
export function callbackRoute(social: SocialService): FeatureRoute {
  return {
    method: 'GET',
    prefix: CALLBACK_PREFIX,
    async handle(req, res, { path, search, meta }) {
      // Provider names are plain ASCII (config): no decoding, so a malformed escape is just an unknown name.
      const name = path.slice(CALLBACK_PREFIX.length);
      const outcome = await social.handleCallback(name, new URLSearchParams(search), cookieValue(req.headers.cookie, BINDING_COOKIE), meta);
      res.setHeader('cache-control', 'no-store');
      res.setHeader('referrer-policy', 'no-referrer');
      if (outcome.kind === 'redirect') {
        res.statusCode = 303;
        res.setHeader('location', outcome.location);
        res.end();
        return;
      }
      const text =
        outcome.reason === 'UNKNOWN_PROVIDER'
          ? 'No identity provider is configured by that name.'
          : 'This sign-in link is not valid (it may have been used or have expired). Go back to the app and start again.';
      const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title><style>${PAGE_STYLE}</style></head><body><h1>Sign-in failed</h1><p>${text}</p><p><code>OAUTH_FAILED: ${outcome.reason}</code></p></body></html>`;
      res.statusCode = outcome.status;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
      res.end(body);
    },
  };
}
