import { z } from 'zod';
import { parseDuration } from '../platform/duration.js';

/*
 * Parsers for environment settings, shared by every config section. Each
 * reports a message naming the setting, so loadConfig can list every problem
 * at once. Also the value types that sections and the layers below them share
 * (a budget, the JWT algorithms), so no section imports from a layer above.
 */

/** A budget: `points` attempts per `duration` seconds. */
export interface Budget {
  readonly points: number;
  readonly duration: number;
}

/** The JWT algorithms tokengate signs with (JWT_ALGORITHM; tokens/signing-keys.ts works with them). */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
/** One of JWT_ALGORITHMS. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A duration setting (`3s`, `15m`, `12h`, `30d`) in seconds, within [min, max]. */
export const duration = (name: string, max?: number, min = 0) =>
  z.string().transform((text, ctx) => {
    const seconds = parseDuration(text);
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `${name} must look like 3s, 15m, 12h or 30d (got "${text}")` });
      return z.NEVER;
    }
    if (seconds < min) {
      ctx.addIssue({ code: 'custom', message: `${name} must be at least ${min}s` });
      return z.NEVER;
    }
    if (max !== undefined && seconds > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be at most ${max}s` });
      return z.NEVER;
    }
    return seconds;
  });

/** A budget written `N/duration`, e.g. `100/1h`. */
export const budget = (name: string) =>
  z.string().transform((text, ctx) => {
    const match = /^(\d{1,9})\/(.+)$/.exec(text.trim());
    const duration = match ? parseDuration(match[2]!) : null;
    if (!match || duration === null || duration < 1 || Number(match[1]) < 1) {
      ctx.addIssue({ code: 'custom', message: `${name} must look like 100/1h: attempts per duration (got "${text}")` });
      return z.NEVER;
    }
    return { points: Number(match[1]), duration };
  });

/** A boolean setting: true/false, 1/0, yes/no, on/off. */
export const boolean = (name: string) =>
  z.string().transform((text, ctx) => {
    const value = text.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    ctx.addIssue({ code: 'custom', message: `${name} must be true or false (got "${text}")` });
    return z.NEVER;
  });

/** A whole-number setting within [min, max]. */
export const int = (name: string, min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max} (got "${text}")` });
      return z.NEVER;
    }
    return value;
  });
