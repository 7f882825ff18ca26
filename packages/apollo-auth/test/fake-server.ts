/**
 * A fake tokengate behind a mocked fetch, for the kit's unit tests: it
 * answers the kit's operations and a `me` query the way the contract says,
 * and records every request. Real-server proof is in the *.browser.test.ts files and
 * the *.e2e.test.ts files of the repository.
 */

/** A JWT-shaped access token whose `exp` the kit can read (the signature is never checked here). */
export function fakeJwt(n: number, expSeconds = Math.floor(Date.now() / 1000) + 900): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'at+jwt' })}.${part({ sub: 'u1', n, exp: expSeconds })}.sig${n}`;
}

export interface SentRequest {
  readonly operationName: string;
  readonly authorization: string | null;
  readonly csrf: string | null;
  readonly credentials: RequestCredentials | undefined;
  readonly variables: Record<string, unknown>;
}

const USER = { id: 'u1', username: 'alice', roles: ['USER'] };

/** The server's state: the live tokens; everything else is refused as the contract says. */
export class FakeServer {
  readonly sent: SentRequest[] = [];
  private generation = 0;
  accessToken = fakeJwt(0);
  refreshToken = 'rt-0';
  expired = new Set<string>();
  revoked = false;
  csrf = 'csrf-value';
  /** Makes refreshToken answer this code instead of a pair. */
  refreshRefusal: string | null = null;
  /** Answers login with MFA_REQUIRED. */
  mfa = false;
  /** Answers as with REFRESH_TOKEN_COOKIE=true: the pair's refreshToken is "" (the token is in the cookie). */
  cookies = false;
  /** Every token issued from now on is expired on arrival (a retry after a refresh fails again). */
  bornExpired = false;

  readonly fetch: typeof fetch = async (input, init) => {
    const body = JSON.parse(input instanceof Request ? await input.text() : String(init?.body)) as { operationName?: string; query: string; variables?: Record<string, unknown> };
    const headers = new Headers(init?.headers);
    const request: SentRequest = {
      operationName: body.operationName ?? /(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? '',
      authorization: headers.get('authorization'),
      csrf: headers.get('x-csrf-token'),
      credentials: init?.credentials,
      variables: body.variables ?? {},
    };
    this.sent.push(request);
    // Answer on a later turn, as a network would, so concurrent requests really overlap.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return Response.json(this.answer(request));
  };

  count(operationName: string): number {
    return this.sent.filter((r) => r.operationName === operationName).length;
  }

  /** The access token in use stops working with TOKEN_EXPIRED. */
  expire(): void {
    this.expired.add(this.accessToken);
  }

  private pair() {
    this.generation += 1;
    this.accessToken = fakeJwt(this.generation);
    this.refreshToken = `rt-${this.generation}`;
    if (this.bornExpired) this.expired.add(this.accessToken);
    return { accessToken: this.accessToken, refreshToken: this.cookies ? '' : this.refreshToken, expiresIn: 900, user: USER };
  }

  private unauthenticated(authorization: string | null) {
    const token = authorization?.replace(/^Bearer /, '') ?? null;
    if (token === null) return 'MISSING_TOKEN';
    if (this.expired.has(token)) return 'TOKEN_EXPIRED';
    if (this.revoked) return 'TOKEN_REVOKED';
    if (token !== this.accessToken) return 'INVALID_TOKEN';
    return null;
  }

  private answer(request: SentRequest): unknown {
    const error = (code: string, extra: Record<string, unknown> = {}) => ({ data: null, errors: [{ message: code, extensions: { code, ...extra } }] });
    switch (request.operationName) {
      case 'Login':
        if (this.mfa) return error('MFA_REQUIRED', { mfaToken: 'mfa-1' });
        return { data: { login: this.pair() } };
      case 'Signup':
        return { data: { signup: this.pair() } };
      case 'VerifyMfa':
        if (request.variables.code !== '123456') return error('INVALID_MFA_CODE');
        return { data: { verifyMfa: this.pair() } };
      case 'RefreshToken': {
        if (this.refreshRefusal) return error(this.refreshRefusal, this.refreshRefusal === 'FORBIDDEN' ? { reason: 'CSRF' } : {});
        if ('refreshToken' in request.variables) {
          if (request.variables.refreshToken !== this.refreshToken) return error('INVALID_REFRESH_TOKEN');
        } else if (request.csrf !== this.csrf) {
          return error('FORBIDDEN', { reason: 'CSRF' });
        }
        return { data: { refreshToken: this.pair() } };
      }
      case 'Me':
      case 'Logout':
      case 'LogoutAll': {
        const reason = this.unauthenticated(request.authorization);
        if (reason) return error('UNAUTHENTICATED', { reason });
        if (request.operationName === 'Me') return { data: { me: { __typename: 'User', ...USER } } };
        this.revoked = true;
        return request.operationName === 'Logout' ? { data: { logout: true } } : { data: { logoutAll: 2 } };
      }
      default:
        return error('GRAPHQL_VALIDATION_FAILED');
    }
  }
}

/** An in-memory LockManager (navigator.locks) shared by the "tabs" of one test. */
export function fakeLocks(): LockManager {
  const queues = new Map<string, Promise<unknown>>();
  return {
    request(name: string, ...rest: unknown[]) {
      const callback = rest.at(-1) as (lock: Lock | null) => Promise<unknown>;
      const before = queues.get(name) ?? Promise.resolve();
      const run = before.then(() => callback({ name, mode: 'exclusive' } as Lock));
      queues.set(name, run.catch(() => undefined));
      return run;
    },
    query: async () => ({ held: [], pending: [] }),
  } as unknown as LockManager;
}
