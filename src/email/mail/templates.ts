import type { MailKind } from './mail.js';

/** The subject and bodies of one mail. */
export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A link from a template such as `https://app.example.com/reset?token={token}`; the token is URL-safe already, and encoded anyway. */
export function buildLink(template: string, token: string): string {
  return template.split('{token}').join(encodeURIComponent(token));
}

/** Writes a duration for people: "24 hours", "1 hour", "30 minutes". */
export function describeDuration(seconds: number): string {
  const units: Array<[number, string]> = [[86_400, 'day'], [3_600, 'hour'], [60, 'minute']];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return name === 'day' && n === 1 ? '24 hours' : `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

const COPY: Record<MailKind, { subject: string; intro: string; action: string; outro: string }> = {
  verify_email: {
    subject: 'Confirm your email address',
    intro: 'Please confirm that this address belongs to your account "{username}".',
    action: 'Confirm my address',
    outro: 'If you did not ask for this, ignore this mail: the address stays unconfirmed.',
  },
  reset_password: {
    subject: 'Reset your password',
    intro: 'Someone asked to reset the password of your account "{username}".',
    action: 'Choose a new password',
    outro: 'If it was not you, ignore this mail: your password stays as it is. Resetting it signs out every device.',
  },
};

/**
 * The small text and HTML mails of the two flows. Every value is escaped for
 * HTML (the username is the user's own choice); the HTML has no remote
 * images, fonts or styles, so opening it fetches nothing.
 */
export function renderMail(kind: MailKind, values: { readonly username: string; readonly link: string; readonly ttlSeconds: number }): RenderedMail {
  const copy = COPY[kind];
  const intro = copy.intro.replace('{username}', values.username);
  const expiry = `The link works once, for ${describeDuration(values.ttlSeconds)}.`;
  const text = [intro, '', `${copy.action}:`, values.link, '', expiry, copy.outro, ''].join('\n');
  const link = escapeHtml(values.link);
  const html = [
    '<!doctype html>',
    '<html><body style="font-family:sans-serif;line-height:1.5;color:#222">',
    `<p>${escapeHtml(intro)}</p>`,
    `<p><a href="${link}" style="display:inline-block;padding:10px 16px;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(copy.action)}</a></p>`,
    `<p style="font-size:13px;color:#555">Or paste this link into your browser:<br>${link}</p>`,
    `<p style="font-size:13px;color:#555">${escapeHtml(expiry)} ${escapeHtml(copy.outro)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: copy.subject, text, html };
}
