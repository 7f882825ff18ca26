import { describe, expect, it } from 'vitest';
import { redactAttributes, redisStatement } from '../../src/platform/tracing.js';

// The redacting span processor's rules, one attribute at a time (the e2e and cluster suites prove them on a real run).
describe('tracing redaction', () => {
  it('drops GraphQL variables, headers, query strings and SQL parameter values', () => {
    const out = redactAttributes({
      'graphql.variables.password': 'hunter2',
      'http.request.header.authorization': ['Bearer abc'],
      'http.request.header.cookie': ['tg_refresh=abc'],
      'http.response.header.set-cookie': ['tg_refresh=abc'],
      'url.query': 'token=abc',
      'db.postgresql.values': ['abc'],
      'db.query.parameter.0': 'abc',
      'app.refresh_token': 'abc',
      'http.response.status_code': 200,
      'graphql.field.name': 'refreshToken',
    });
    expect(out).toEqual({ 'http.response.status_code': 200, 'graphql.field.name': 'refreshToken' });
  });

  it('keeps URLs without their query string and without user:password', () => {
    expect(redactAttributes({ 'url.full': 'http://h/verify-email?token=abc', 'http.target': '/graphql?variables=%7B%7D' })).toEqual({
      'url.full': 'http://h/verify-email',
      'http.target': '/graphql',
    });
    expect(redactAttributes({ 'db.connection_string': 'postgres://app:s3cret@db:5432/tg' })).toEqual({ 'db.connection_string': 'postgres://db:5432/tg' });
  });

  it('keeps a Redis statement to its command, and SQL without literals', () => {
    expect(redactAttributes({ 'db.system.name': 'redis', 'db.query.text': 'get tokengate:session:9f86d081884c7d65' })['db.query.text']).toBe('get');
    expect(redactAttributes({ 'db.system': 'postgresql', 'db.statement': "select * from users where name = 'alice' and id = $1" })['db.statement']).toBe(
      "select * from users where name = '?' and id = $1",
    );
    expect(redisStatement('evalsha')).toBe('evalsha');
  });

  it('removes quoted values from exception messages (GraphQL quotes a bad variable value)', () => {
    expect(redactAttributes({ 'exception.message': 'Variable "$p" got invalid value "hunter2"' })['exception.message']).toBe('Variable "*" got invalid value "*"');
  });
});
