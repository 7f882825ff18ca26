import { Secret, TOTP } from 'otpauth';

/*
 * TOTP (RFC 6238) as the contract fixes it: HMAC-SHA-1, 6 digits, 30-second
 * steps, one step of skew either way. The arithmetic is otpauth's (tested
 * against the RFC's vectors in test/mfa/totp.unit.test.ts); what is ours is the
 * replay rule and the shape of the enrollment URL. Pure: the time is passed in.
 */

/** Seconds per step. */
export const TOTP_PERIOD = 30;
/** Digits per code. */
export const TOTP_DIGITS = 6;
/** Steps of clock skew accepted either way. */
export const TOTP_SKEW = 1;
const ALGORITHM = 'SHA1';
/** 160 bits, the HMAC-SHA-1 key length RFC 4226 §4 recommends. */
const SECRET_BYTES = 20;
const CODE_PATTERN = /^\d{6}$/;

/** A new random secret, base32 (RFC 4648, no padding) as authenticator apps take it. */
export function generateTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The `otpauth://totp/<issuer>:<username>?secret=…&issuer=…` URL an authenticator app scans. */
export function totpUrl(input: { readonly issuer: string; readonly username: string; readonly secret: string }): string {
  const e = encodeURIComponent;
  const params = `secret=${e(input.secret)}&issuer=${e(input.issuer)}&algorithm=${ALGORITHM}&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD}`;
  return `otpauth://totp/${e(input.issuer)}:${e(input.username)}?${params}`;
}

/** The 30-second step that `nowMs` falls in. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD);
}

/** Removes the spaces people type or paste into a code ("123 456"). */
export function normalizeTotpCode(code: string): string {
  return code.replace(/[\s-]/g, '');
}

/** Whether `code` has the shape of a TOTP code (six digits, spaces allowed). */
export function looksLikeTotpCode(code: string): boolean {
  return CODE_PATTERN.test(normalizeTotpCode(code));
}

/** The code of `secret` for the step `nowMs` falls in (tests and the explorer's helpers use it). */
export function generateTotpCode(secret: string, nowMs: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: TOTP_DIGITS, period: TOTP_PERIOD, timestamp: nowMs });
}

/**
 * The step whose code `code` is, within one step of `nowMs` either way, or
 * null when it is none of them. Codes are compared in constant time (otpauth
 * uses crypto.timingSafeEqual).
 */
export function matchTotpStep(secret: string, code: string, nowMs: number): number | null {
  const token = normalizeTotpCode(code);
  if (!CODE_PATTERN.test(token)) return null;
  const delta = TOTP.validate({
    token,
    secret: Secret.fromBase32(secret),
    algorithm: ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD,
    timestamp: nowMs,
    window: TOTP_SKEW,
  });
  return delta === null ? null : totpStep(nowMs) + delta;
}

/**
 * The replay rule: a code is accepted only for a step later than the last
 * step accepted for that user, so a code works at most once, and an older
 * code cannot be played after a newer one (RFC 6238 §5.2). Answers the step
 * to record, or null. The database applies the same rule as a compare-and-set
 * (credentials/totp.repository.ts), so two instances cannot both accept it.
 */
export function acceptTotpCode(secret: string, code: string, nowMs: number, lastUsedStep: number | null): number | null {
  const step = matchTotpStep(secret, code, nowMs);
  if (step === null) return null;
  return lastUsedStep !== null && step <= lastUsedStep ? null : step;
}
