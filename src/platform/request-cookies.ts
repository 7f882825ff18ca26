/** One cookie to set on an answer. */
export interface CookieToSet {
  readonly name: string;
  readonly value: string;
  /** Seconds; 0 clears it. */
  readonly maxAge: number;
  readonly path: string;
  readonly httpOnly: boolean;
  readonly sameSite: 'lax' | 'strict';
}

/** An HTTP request's cookies, and the cookies its answer sets (http/cookies.ts adds `Secure` per COOKIE_SECURE). */
export interface RequestCookies {
  get(name: string): string | undefined;
  set(cookie: CookieToSet): void;
}
