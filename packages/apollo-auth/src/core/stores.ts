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

/** Reads a cookie readable by script (cookie mode's `tg_csrf`) from `cookies` (default `document.cookie`); null when absent or empty. */
export function readCookie(name: string, cookies: string | null = typeof document === 'undefined' ? null : document.cookie): string | null {
  if (cookies === null) return null;
  for (const part of cookies.split(';')) {
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
