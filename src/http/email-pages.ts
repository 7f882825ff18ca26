import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/*
 * The two small pages the default mail links open: /verify-email and
 * /reset-password. Self-contained (inline style and script, allowed by a
 * per-response nonce; nothing else may load), they call the GraphQL
 * mutations on this same origin. The token stays out of the Referer header
 * and the browser history: the script takes it from the URL and removes it.
 */

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1rem;padding:.6rem 1rem;font-size:1rem;cursor:pointer}#status{margin-top:1rem;min-height:1.5em}.error{color:#b00020}.ok{color:#0a7a2f}`;

// Shared by both pages: read and hide the token, call one mutation, show its outcome.
const COMMON = `const params = new URLSearchParams(location.search || location.hash.slice(1));
const token = params.get('token') || '';
history.replaceState(null, '', location.pathname);
const statusEl = document.getElementById('status');
function show(text, kind) { statusEl.textContent = text; statusEl.className = kind; }
async function call(query, variables) {
  const res = await fetch('graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  const error = body.errors && body.errors[0];
  if (error) {
    const code = error.extensions && error.extensions.code;
    throw new Error(code === 'INVALID_EMAIL_TOKEN' ? 'This link is not valid: it was used already or has expired. Ask for a new one.' : error.message);
  }
  return body.data;
}
if (!token) { show('This page needs the link from your mail.', 'error'); }`;

const VERIFY_SCRIPT = `${COMMON}
const button = document.getElementById('go');
button.disabled = !token;
button.addEventListener('click', async () => {
  button.disabled = true;
  try {
    await call('mutation ($t: String!) { verifyEmail(token: $t) }', { t: token });
    show('Your address is confirmed. You can close this page.', 'ok');
  } catch (e) { show(e.message, 'error'); }
});`;

const RESET_SCRIPT = `${COMMON}
const form = document.getElementById('form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const password = document.getElementById('password').value;
  if (password !== document.getElementById('confirm').value) { show('The two passwords differ.', 'error'); return; }
  const button = document.getElementById('go');
  button.disabled = true;
  try {
    await call('mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }', { t: token, p: password });
    form.hidden = true;
    show('Your password is changed and every device was signed out. Sign in with the new password.', 'ok');
  } catch (e) { show(e.message, 'error'); button.disabled = false; }
});`;

function page(title: string, body: string, script: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title><style nonce="${nonce}">${STYLE}</style></head>
<body><h1>${title}</h1>
${body}
<p id="status" role="status"></p>
<script nonce="${nonce}">${script}</script>
</body></html>`;
}

/** Which page. */
export type EmailPage = 'verify-email' | 'reset-password';

/** The HTML of one page with the nonce its CSP allows. */
export function renderEmailPage(which: EmailPage, nonce: string): string {
  if (which === 'verify-email') {
    return page('Confirm your email address', '<p>Confirm that this address belongs to your account.</p>\n<button id="go" type="button">Confirm my address</button>', VERIFY_SCRIPT, nonce);
  }
  return page(
    'Choose a new password',
    `<form id="form"><label for="password">New password (at least 8 characters)</label>
<input id="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required>
<label for="confirm">The same again</label>
<input id="confirm" type="password" autocomplete="new-password" minlength="8" maxlength="256" required>
<button id="go" type="submit">Set the new password</button></form>`,
    RESET_SCRIPT,
    nonce,
  );
}

/** Answers GET (or HEAD) for one page, with a strict CSP: only its own inline code runs, and it may talk only to this origin. */
export function sendEmailPage(res: ServerResponse, which: EmailPage, method: string): void {
  if (method !== 'GET' && method !== 'HEAD') {
    res.statusCode = 405;
    res.setHeader('allow', 'GET, HEAD');
    res.end();
    return;
  }
  const nonce = randomBytes(16).toString('base64');
  const html = renderEmailPage(which, nonce);
  res.statusCode = 200;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader(
    'content-security-policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
  );
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('content-length', Buffer.byteLength(html));
  res.end(method === 'HEAD' ? undefined : html);
}
