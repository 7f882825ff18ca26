// The layering rules of src/ (npm run lint:layers): imports point down only.
//
// From the bottom: platform/, errors.ts, config/, db/; then users/,
// credentials/, tokens/; then core/ (which builds the door from sessions/'
// kernel); then the feature folders (keys/, sessions/, email/, mfa/,
// sign-in/, accounts/), which meet only through each other's index.ts; then
// graphql/, http/, cli/; then app.ts and main.ts (docs/design/development.md,
// "Layout"). Type-only imports count like any other: a type import that
// points up still ties a lower folder to a higher one. A new feature goes in
// FEATURES below.

/** `^src/(a|b|c)/`: the folders, as a path pattern. */
const folders = (...names) => `^src/(${names.join('|')})/`;

/** The feature folders (src/core/feature.ts): one constructor each, composed by buildApp. */
const FEATURES = ['keys', 'sessions', 'email', 'mfa', 'sign-in', 'passkeys', 'accounts', 'audit', 'social', 'api-keys'];

/** The parts of sessions/ the core builds the door from. */
const SESSIONS_KERNEL = '^src/sessions/(session\\.service|session-guard|session|session\\.repository|event-bus|auth-events|audit-trail|viewer)\\.ts$|^src/sessions/guards/';

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
      name: 'model-stays-below-the-features',
      comment: 'users/, credentials/ and tokens/ (the user, the credentials table, pure token logic) know nothing of the core, the features or the transports.',
      severity: 'error',
      from: { path: folders('users', 'credentials', 'tokens') },
      to: { path: folders('core', ...FEATURES, 'graphql', 'http', 'cli') },
    },
    {
      name: 'users-know-no-tokens',
      comment: 'users/ knows nothing of sign-in: tokens are built on users, never the reverse.',
      severity: 'error',
      from: { path: '^src/users/' },
      to: { path: '^src/tokens/' },
    },
    {
      name: 'core-uses-only-the-door',
      comment: 'core/ builds the door and what it needs (sessions/: session.service, guards, the event bus and its codec, the session model); the rest of sessions/ is a feature built on the core.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: folders(...FEATURES), pathNot: SESSIONS_KERNEL },
    },
    // features-meet-through-ports: one rule per feature.
    ...FEATURES.map((feature) => ({
      name: `${feature}-through-its-port`,
      comment: `${feature}/ is entered through its index.ts or ports.ts (its declared port) from anywhere outside it: other features, graphql/, http/, cli/, app.ts. Exceptions: the core building the door, and the generated resolver types (their mappers name the features' models).`,
      severity: 'error',
      from: { path: '^src/', pathNot: [`^src/${feature}/`, '^src/graphql/generated/', '^src/core/'] },
      to: { path: `^src/${feature}/`, pathNot: `^src/${feature}/(index|ports)\\.ts$` },
    })),
    {
      name: 'features-below-the-transports',
      comment: 'Features hand resolvers and services to the app; they never import the transports, the CLI or the composition root. From graphql/ they use only the generated types and the viewer helper.',
      severity: 'error',
      from: { path: folders(...FEATURES) },
      to: { path: ['^src/http/', '^src/cli/', '^src/(app|main|migrations)\\.ts$', '^src/graphql/'], pathNot: ['^src/graphql/generated/', '^src/graphql/resolvers/viewer\\.ts$'] },
    },
    {
      name: 'graphql-is-below-http',
      comment: 'graphql/ (context, permissions, the operation pipeline, schema assembly) is transport-agnostic: http/ parses credentials and calls it.',
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
