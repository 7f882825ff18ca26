import { afterAll, describe, expect, it } from 'vitest';
import { startInstance } from '../helpers/instances.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { AUTH_FIELDS } from '../helpers/server.js';
import { sqliteStorage, tracingSuite } from './tracing-checks.js';

// OpenTelemetry on SQLite: HTTP and GraphQL spans, no secret exported (see tracing-checks.ts).
describe('tracing (OpenTelemetry) on SQLite', () => {
  tracingSuite({ storage: sqliteStorage, sql: false, redis: false });
});

describe('tracing with the default encoding (OTLP/HTTP protobuf)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('sends protobuf to /v1/traces, with the operation in it and the password and tokens not', async () => {
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.close());
    const storage = await sqliteStorage();
    cleanup.push(storage.dispose);
    const server = await startInstance('traced-protobuf', { ...storage.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    cleanup.push(() => server.stop());
    const password = 'protobuf password 8c1f2e';
    const res = await server.gql<{ signup: { accessToken: string; refreshToken: string } }>(
      `mutation SignUp($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`,
      { u: 'protobuf_user', p: password },
    );
    const { accessToken, refreshToken } = res.body.data!.signup;
    await server.stop();
    expect(receiver.bodies.length).toBeGreaterThan(0);
    const all = receiver.bodies.join('\n');
    // Protobuf keeps strings as UTF-8: span names and attribute values are readable, and so would a secret be.
    expect(all).toContain('mutation SignUp');
    expect(all).toContain('graphql.resolve signup');
    for (const secret of [password, accessToken, refreshToken, accessToken.split('.')[2]!]) expect(all.includes(secret)).toBe(false);
  });
});
