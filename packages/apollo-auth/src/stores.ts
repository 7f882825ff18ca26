/** Where header mode keeps the refresh token between page loads. */
export interface RefreshTokenStore {
  get(): string | null;
  set(token: string | null): void;
}

/**
 * The default store of header mode: `sessionStorage`, so the refresh token
 * survives a reload of this tab but not the end of the browsing session, and
 * is never written to disk as `localStorage` would be. Falls back to memory
 * where `sessionStorage` is absent (server rendering, tests) or refused.
 */
export function sessionStorageStore(key = 'tokengate.refreshToken'): RefreshTokenStore {
  const storage = typeof sessionStorage === 'undefined' ? null : sessionStorage;
  let memory: string | null = null;
  return {
    get() {
      try {
        return storage ? storage.getItem(key) : memory;
      } catch {
        return memory;
      }
    },
    set(token) {
      memory = token;
      try {
        if (!storage) return;
        if (token === null) storage.removeItem(key);
        else storage.setItem(key, token);
      } catch {
        // Storage refused (private mode quotas): memory keeps the token for this page's life.
      }
    },
  };
}

/** A store that forgets on reload: the safest choice when tabs and reloads need not stay signed in. */
export function memoryStore(): RefreshTokenStore {
  let token: string | null = null;
  return {
    get: () => token,
    set: (next) => {
      token = next;
    },
  };
}

/** Reads a cookie readable by script (cookie mode's `tg_csrf`); null when absent. */
export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const at = part.indexOf('=');
    if (at === -1) continue;
    if (part.slice(0, at).trim() === name) {
      const value = part.slice(at + 1).trim();
      try {
        return value === '' ? null : decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return null;
}

/** The `exp` claim of a JWT in milliseconds, or null when it cannot be read (the server decides validity; this only guides timing). */
export function expiresAtOf(jwt: string): number | null {
  const part = jwt.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}
