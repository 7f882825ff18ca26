// The layering rules of src/ (npm run lint:layers): imports point down only.
//
// From the bottom: platform/, db/, errors.ts, then config/, then credentials/
// and mail/, users/, tokens/, sessions/, auth/, graphql/, cli/, http/, then
// app.ts and main.ts (STYLE.md, "Layout" and "Layering"). Type-only imports
// count like any other: a type import that points up still ties a lower
// folder to a higher one. Each rule below names a folder and what it must
// not reach; add a rule of the same shape for a new folder (e.g. a feature
// folder: what it may not import, and who may not import it).

/** `^src/(a|b|c)/`: the folders, as a path pattern. */
const folders = (...names) => `^src/(${names.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A circle, even of type imports, means two modules cannot be understood (or moved) apart: cut one arrow.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'platform-is-the-floor',
      comment: 'platform/ (clock, logger, redis, metrics, …) serves every folder and imports none of them.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/', pathNot: '^src/platform/' },
    },
    {
      name: 'errors-stand-alone',
      comment: 'errors.ts (AppError and the contract codes) imports nothing of src/, so any layer may throw its errors.',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'db-stays-low',
      comment: 'db/ (the database factory, tables, migrations) may use platform/, errors.ts and the config types; nothing above them.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/', pathNot: ['^src/db/', '^src/platform/', '^src/errors\\.ts$', '^src/config/'] },
    },
    {
      name: 'config-imports-only-platform',
      comment: 'config/ reads settings; it sits below everything that reads Config (db/, credentials/, tokens/ …), so it imports only platform/.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/config/', '^src/platform/'] },
    },
    {
      name: 'users-know-no-sessions-or-tokens',
      comment: 'users/ knows nothing of sign-in: sessions, tokens, auth and the transports build on users, never the reverse.',
      severity: 'error',
      from: { path: '^src/users/' },
      to: { path: folders('auth', 'sessions', 'tokens', 'graphql', 'http') },
    },
    {
      name: 'tokens-are-below-sessions',
      comment: 'tokens/ is pure token logic (keys and clock passed in); sessions and auth decide what a token means.',
      severity: 'error',
      from: { path: '^src/tokens/' },
      to: { path: folders('sessions', 'auth', 'graphql', 'http') },
    },
    {
      name: 'sessions-are-below-auth',
      comment: 'sessions/ (the one door that ends sessions, the guards, the bus) is used by auth and the transports, not the reverse.',
      severity: 'error',
      from: { path: '^src/sessions/' },
      to: { path: folders('auth', 'graphql', 'http') },
    },
    {
      name: 'graphql-is-below-http',
      comment: 'graphql/ (context, permissions, resolvers) is transport-agnostic: http/ parses credentials and calls it.',
      severity: 'error',
      from: { path: '^src/graphql/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'only-main-imports-app',
      comment: 'app.ts is the composition root: only main.ts (and the tests) build the app from it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/app\\.ts$' },
    },
    {
      name: 'nothing-imports-main',
      comment: 'main.ts is the process entry point (reads process.env, listens): nothing imports it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'src-imports-no-tests-or-bench',
      comment: 'Shipped code never depends on test helpers or benchmarks.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are arrows too (see the top of this file).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The folders under src/ import packages through their "exports", as Node.js does.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
