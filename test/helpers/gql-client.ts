/** The one GraphQL-over-HTTP client of the test tree. */

/** A GraphQL response as a client sees it. */
export interface GqlResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
    extensions?: Record<string, unknown>;
  };
  readonly headers: Headers;
}

/** Options of one request: `token` becomes `Authorization: Bearer <token>`. */
export interface GqlOptions {
  readonly token?: string;
  readonly headers?: Record<string, string>;
}

/** A raw POST of any JSON payload to `<baseUrl>/graphql`: status, text, and the parsed body (undefined when not JSON). */
export async function postGraphQL(baseUrl: string, payload: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
  const text = await res.text();
  let json: GqlResponse['body'] | undefined;
  try {
    json = JSON.parse(text) as GqlResponse['body'];
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** POSTs one operation and insists on a JSON answer (a non-JSON one is a test failure with its text). */
export async function gql<T = Record<string, unknown>>(baseUrl: string, query: string, variables?: Record<string, unknown>, options: GqlOptions = {}): Promise<GqlResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await postGraphQL(baseUrl, { query, variables }, headers);
  if (res.json === undefined) throw new Error(`non-JSON response ${res.status}: ${res.text.slice(0, 200)}`);
  return { status: res.status, body: res.json as GqlResponse<T>['body'], headers: res.headers };
}
