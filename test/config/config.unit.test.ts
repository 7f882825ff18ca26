import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ConfigError, checkSecretStrength, loadConfig } from '../../src/config/config.js';

/** 48 characters, 48 distinct: strong enough for production. */
const STRONG_SECRET = 'k7Qp2vXz9LmN4rTb8WcY1dHs6FgJ0aEu3iOy5nPqRtSvBxZj';
const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET } as const;

/** Runs loadConfig expecting a ConfigError, and returns its problems. */
function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('uses the contract defaults', () => {
    expect(config.env).toBe('development');
    expect(config.port).toBe(4000);
    expect(config.jwt.accessTokenTtl).toBe(900);
    expect(config.jwt.clockTolerance).toBe(0);
    expect(config.refreshTokenTtl).toBe(30 * 86_400);
    expect(config.refreshReuseGrace).toBe(10);
    expect(config.signupEnabled).toBe(true);
    expect(config.trustProxy).toBe(false);
    expect(config.corsOrigins).toEqual([]);
    expect(config.jwt.issuer).toBe('tokengate');
    expect(config.jwt.audience).toBe('tokengate');
    expect(config.bodyLimitBytes).toBe(100 * 1024);
    expect(config.bootstrapAdmin).toBeNull();
  });

  it('keeps the SQLite file under <cwd>/data', () => {
    expect(config.database).toEqual({ dialect: 'sqlite', file: path.join(process.cwd(), 'data', 'tokengate.sqlite') });
    expect(config.dataDir).toBe(path.join(process.cwd(), 'data'));
  });

  it('has no JWT secret when none is set outside production', () => {
    expect(config.jwt.secret).toBeNull();
  });

  it('treats empty variables as unset', () => {
    const blank = loadConfig({ PORT: '', ACCESS_TOKEN_TTL: '', SIGNUP_ENABLED: '', JWT_SECRET: '' });
    expect(blank.port).toBe(4000);
    expect(blank.jwt.accessTokenTtl).toBe(900);
    expect(blank.signupEnabled).toBe(true);
    expect(blank.jwt.secret).toBeNull();
  });

  it('reads the settings when they are given', () => {
    const custom = loadConfig({
      PORT: '8080',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '7d',
      REFRESH_REUSE_GRACE: '3s',
      JWT_CLOCK_TOLERANCE: '1m',
      JWT_ISSUER: 'https://auth.example',
      JWT_AUDIENCE: 'api',
      SIGNUP_ENABLED: 'false',
      TRUST_PROXY: 'true',
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(custom.port).toBe(8080);
    expect(custom.jwt.accessTokenTtl).toBe(300);
    expect(custom.refreshTokenTtl).toBe(7 * 86_400);
    expect(custom.refreshReuseGrace).toBe(3);
    expect(custom.jwt.clockTolerance).toBe(60);
    expect(custom.jwt.issuer).toBe('https://auth.example');
    expect(custom.jwt.audience).toBe('api');
    expect(custom.signupEnabled).toBe(false);
    expect(custom.trustProxy).toBe(true);
    expect(custom.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });
});

describe('loadConfig introspection', () => {
  it.each<[string, Record<string, string>, boolean]>([
    ['on in development', {}, true],
    ['on in test', { NODE_ENV: 'test' }, true],
    ['off in production', { ...PRODUCTION }, false],
    ['on in production with INTROSPECTION=true', { ...PRODUCTION, INTROSPECTION: 'true' }, true],
    ['off in development with INTROSPECTION=false', { INTROSPECTION: 'false' }, false],
  ])('is %s', (_label, env, expected) => {
    expect(loadConfig(env).introspection).toBe(expected);
  });
});

describe('loadConfig durations', () => {
  it.each([
    ['ACCESS_TOKEN_TTL', '15'],
    ['ACCESS_TOKEN_TTL', '1.5h'],
    ['REFRESH_TOKEN_TTL', '30 days'],
    ['REFRESH_REUSE_GRACE', '-1s'],
    ['JWT_CLOCK_TOLERANCE', '5w'],
  ])('refuses %s=%j with a problem naming the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
    expect(problems[0]).toContain(value);
  });

  it('allows a JWT_CLOCK_TOLERANCE of 60s', () => {
    expect(loadConfig({ JWT_CLOCK_TOLERANCE: '60s' }).jwt.clockTolerance).toBe(60);
  });

  it.each(['61s', '2m', '1h'])('refuses a JWT_CLOCK_TOLERANCE of %s (over 60s)', (value) => {
    const problems = problemsOf({ JWT_CLOCK_TOLERANCE: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/JWT_CLOCK_TOLERANCE.*60/);
  });
});

describe('loadConfig JWT secret', () => {
  it('refuses production without JWT_SECRET', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET is required when NODE_ENV=production']);
  });

  it.each(['secret', 'my_secret_key', 'changeme'])('refuses the well-known secret %j in production', (secret) => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: secret })).toEqual([
      'JWT_SECRET is a well-known example secret',
    ]);
  });

  it('refuses a 20-byte secret in production', () => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET.slice(0, 20) })).toEqual([
      'JWT_SECRET must be at least 32 bytes',
    ]);
  });

  it('accepts a strong 48-character secret in production', () => {
    expect(STRONG_SECRET).toHaveLength(48);
    const config = loadConfig(PRODUCTION);
    expect(config.env).toBe('production');
    expect(config.jwt.secret).toBe(STRONG_SECRET);
  });

  it.each(['development', 'test'])('accepts a weak secret in %s', (env) => {
    expect(loadConfig({ NODE_ENV: env, JWT_SECRET: 'secret' }).jwt.secret).toBe('secret');
    expect(loadConfig({ NODE_ENV: env }).jwt.secret).toBeNull();
  });
});

describe('checkSecretStrength', () => {
  it.each([
    ['a well-known secret', 'secret', /well-known/],
    ['a well-known secret in other case and spacing', '  ChangeMe ', /well-known/],
    ['"keyboard cat"', 'keyboard cat', /well-known/],
    ['31 bytes', STRONG_SECRET.slice(0, 31), /at least 32 bytes/],
    ['48 bytes of two characters', 'ab'.repeat(24), /too few distinct/],
    ['32 bytes of 7 distinct characters', 'abcdefg'.repeat(5).slice(0, 32), /too few distinct/],
  ])('refuses %s', (_label, secret, message) => {
    expect(checkSecretStrength(secret)).toMatch(message);
  });

  it.each([
    ['32 bytes with 8 distinct characters', 'abcdefgh'.repeat(4)],
    ['the strong 48-character secret', STRONG_SECRET],
    ['a 64-hex-digit key', '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
  ])('accepts %s', (_label, secret) => {
    expect(checkSecretStrength(secret)).toBeNull();
  });

  it('counts bytes, not characters: 16 two-byte characters make 32 bytes', () => {
    const twoByte = '\u00e0\u00e1\u00e2\u00e3\u00e4\u00e5\u00e6\u00e7'.repeat(2); // 16 chars, 32 UTF-8 bytes
    expect(checkSecretStrength(twoByte)).toBeNull();
    expect(checkSecretStrength(twoByte.slice(0, 15))).toMatch(/at least 32 bytes/);
  });
});

describe('loadConfig DATABASE_URL', () => {
  it.each(['postgres://u@h/db', 'postgresql://user:pw@db.example:5432/tokengate'])('reads %j as PostgreSQL', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ dialect: 'postgres', url, poolSize: 10 });
    expect(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '25' }).database).toEqual({ dialect: 'postgres', url, poolSize: 25 });
  });

  it('reads REDIS_URL and REDIS_PREFIX, and refuses a URL of another scheme', () => {
    expect(loadConfig({}).redis).toBeNull();
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'tokengate:' });
    expect(loadConfig({ REDIS_URL: 'redis://h:1', REDIS_PREFIX: 'tg-a:' }).redis?.prefix).toBe('tg-a:');
    expect(problemsOf({ REDIS_URL: 'http://h:1' }).join('\n')).toContain('REDIS_URL');
  });

  it.each(['sqlite:./x.db', 'file:./x.db', './x.db', 'x.db', 'sqlite://x.db'])('reads %j as a SQLite file with an absolute path', (url) => {
    const config = loadConfig({ DATABASE_URL: url });
    expect(config.database).toEqual({ dialect: 'sqlite', file: path.join(process.cwd(), 'x.db') });
    expect(config.dataDir).toBe(process.cwd());
  });

  it('keeps an absolute SQLite path', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:///var/lib/tokengate/db.sqlite' }).database).toEqual({
      dialect: 'sqlite',
      file: '/var/lib/tokengate/db.sqlite',
    });
  });

  it('keeps :memory: as is, with data under <cwd>/data', () => {
    const config = loadConfig({ DATABASE_URL: 'sqlite::memory:' });
    expect(config.database).toEqual({ dialect: 'sqlite', file: ':memory:' });
    expect(config.dataDir).toBe(path.join(process.cwd(), 'data'));
  });

  it('refuses a SQLite URL that names no file', () => {
    expect(problemsOf({ DATABASE_URL: 'sqlite:' })).toEqual(['DATABASE_URL names no SQLite file']);
  });
});

describe('loadConfig bootstrap admin', () => {
  it('refuses ADMIN_USERNAME without ADMIN_PASSWORD, and the reverse', () => {
    const problem = 'ADMIN_USERNAME and ADMIN_PASSWORD go together: set both or neither';
    expect(problemsOf({ ADMIN_USERNAME: 'root' })).toEqual([problem]);
    expect(problemsOf({ ADMIN_PASSWORD: 'Xk7#qR2!mZ' })).toEqual([problem]);
  });

  it('reads both together', () => {
    expect(loadConfig({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'Xk7#qR2!mZ' }).bootstrapAdmin).toEqual({
      username: 'root',
      password: 'Xk7#qR2!mZ',
    });
  });
});

describe('loadConfig errors', () => {
  it('reports several format problems together', () => {
    const problems = problemsOf({ ACCESS_TOKEN_TTL: 'soon', PORT: 'eighty', TRUST_PROXY: 'maybe' });
    expect(problems).toHaveLength(3);
    for (const name of ['ACCESS_TOKEN_TTL', 'PORT', 'TRUST_PROXY']) {
      expect(problems.some((p) => p.includes(name))).toBe(true);
    }
  });

  it('reports several consistency problems together', () => {
    const problems = problemsOf({ NODE_ENV: 'production', ADMIN_USERNAME: 'root', DATABASE_URL: 'file:' });
    expect(problems).toEqual(
      expect.arrayContaining([
        'DATABASE_URL names no SQLite file',
        'JWT_SECRET is required when NODE_ENV=production',
        'ADMIN_USERNAME and ADMIN_PASSWORD go together: set both or neither',
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it('lists every problem in the message, one per line', () => {
    try {
      loadConfig({ NODE_ENV: 'production', ADMIN_USERNAME: 'root' });
      expect.unreachable('loadConfig should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).name).toBe('ConfigError');
      expect((error as ConfigError).message).toBe(
        'Invalid configuration:\n' +
          '  - JWT_SECRET is required when NODE_ENV=production\n' +
          '  - ADMIN_USERNAME and ADMIN_PASSWORD go together: set both or neither',
      );
    }
  });
});

describe('loadConfig result', () => {
  it('is frozen, nested objects included', () => {
    const config = loadConfig({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'Xk7#qR2!mZ' });
    expect(Object.isFrozen(config)).toBe(true);
    for (const part of [config.jwt, config.database, config.argon2, config.corsOrigins, config.bootstrapAdmin]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(4000);
  });
});

describe('loadConfig reports across malformed variables', () => {
  it('still checks the production secret and the admin pair when a duration is malformed', () => {
    const problems = problemsOf({ NODE_ENV: 'production', ACCESS_TOKEN_TTL: 'abc', ADMIN_USERNAME: 'x' });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('ACCESS_TOKEN_TTL');
    expect(problems.join('\n')).toContain('JWT_SECRET is required');
    expect(problems.join('\n')).toContain('ADMIN_USERNAME and ADMIN_PASSWORD');
  });

  it('names LOG_LEVEL when it is wrong', () => {
    expect(problemsOf({ LOG_LEVEL: 'verbose' }).join('\n')).toContain('LOG_LEVEL');
  });

  it('refuses a DATABASE_URL with an unknown scheme instead of opening a SQLite file of that name', () => {
    for (const url of ['mysql://u@h/db', 'postgress://u@h/db']) {
      expect(problemsOf({ DATABASE_URL: url }).join('\n')).toContain('DATABASE_URL');
    }
  });

  it('refuses zero token lifetimes and an access token outliving the refresh token', () => {
    expect(problemsOf({ ACCESS_TOKEN_TTL: '0s' }).join('\n')).toContain('ACCESS_TOKEN_TTL must be at least 1s');
    expect(problemsOf({ REFRESH_TOKEN_TTL: '0s' }).join('\n')).toContain('REFRESH_TOKEN_TTL must be at least 1s');
    expect(problemsOf({ ACCESS_TOKEN_TTL: '2h', REFRESH_TOKEN_TTL: '1h' }).join('\n')).toContain('REFRESH_TOKEN_TTL must be longer');
  });
});

describe('TOTP settings', () => {
  it('default the issuer to tokengate, and read TOTP_ISSUER', () => {
    expect(loadConfig({}).totp.issuer).toBe('tokengate');
    expect(loadConfig({ TOTP_ISSUER: 'Acme Corp' }).totp.issuer).toBe('Acme Corp');
  });

  it('refuse an issuer with ":" (it separates issuer and account in the label) or over 64 characters', () => {
    expect(problemsOf({ TOTP_ISSUER: 'a:b' })).toEqual([expect.stringContaining('TOTP_ISSUER must not contain ":"')]);
    expect(problemsOf({ TOTP_ISSUER: 'x'.repeat(65) })).toEqual([expect.stringContaining('TOTP_ISSUER must be at most 64')]);
  });
});
