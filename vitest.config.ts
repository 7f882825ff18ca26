import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/*
 * Tests live by feature, mirroring src/ (test/sessions/, test/mfa/, ...), and
 * say their kind in the name: *.unit (pure), *.service (services on a real
 * database, a hand-moved clock), *.http (the real server on port 0),
 * *.e2e (the compiled server as a process), *.cluster (several servers on
 * PostgreSQL + Redis), *.browser (Chromium). The projects select by kind.
 *
 * One suite, several backends (as Kysely runs its tests on every dialect):
 * the integration tests run once on embedded SQLite and once on PostgreSQL +
 * Redis; multi-instance and fault tests need the real servers too.
 *
 * The PostgreSQL/Redis projects need TOKENGATE_TEST_DATABASE_URL and
 * TOKENGATE_TEST_REDIS_URL (eval "$(scripts/services.sh start)"). Without
 * them they are left out with a loud notice, except under CI=true, where
 * they run and fail.
 */
const haveServices = Boolean(process.env.TOKENGATE_TEST_DATABASE_URL && process.env.TOKENGATE_TEST_REDIS_URL);
const ci = process.env.CI === 'true' || process.env.CI === '1';
const runServiceSuites = haveServices || ci;

if (!runServiceSuites) {
  // A loud notice is the point here.
  // eslint-disable-next-line no-console
  console.warn(
    '\n*** SKIPPING the PostgreSQL + Redis suites (integration on postgres, multi-instance, faults):\n' +
      '*** TOKENGATE_TEST_DATABASE_URL / TOKENGATE_TEST_REDIS_URL are not set.\n' +
      '*** Run them with: eval "$(scripts/services.sh start)" && npm test   (CI=true makes this a failure)\n',
  );
}

const serviceProjects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'postgres',
      include: ['test/**/*.service.test.ts', 'test/**/*.http.test.ts', 'test/clients/apollo-client.e2e.test.ts'],
      env: { TOKENGATE_TEST_BACKEND: 'postgres' },
      setupFiles: ['test/helpers/require-services.ts'],
    },
  },
  {
    extends: true,
    test: {
      name: 'cluster',
      include: ['test/**/*.cluster.test.ts'],
      setupFiles: ['test/helpers/require-services.ts'],
      // These tests start and stop whole servers; one file at a time.
      fileParallelism: false,
    },
  },
];

export default defineConfig({
  resolve: {
    // graphql 16 has no "exports" map: Node loads its CommonJS build (as Apollo
    // and graphql-tools do), while Vite would pick the ES module build for our
    // sources. Load one copy in tests, as in production.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // dist/ rebuilt when older than the sources (process and cluster tests run it).
    globalSetup: ['test/helpers/fresh-build.ts'],
    // Each file gets its own server and database; two cores, so two at a time.
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.{unit,service,http,e2e}.test.ts', 'packages/*/test/**/*.test.ts'],
          env: { TOKENGATE_TEST_BACKEND: 'sqlite' },
        },
      },
      {
        extends: true,
        test: {
          // Every test that drives real Chromium (test/helpers/browser.ts: example app, explorer, email link pages); fails under CI=true without Chromium.
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          // One browser at a time: Chromium and the server share two cores with everything else.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      ...(runServiceSuites ? serviceProjects : []),
    ],
  },
});
