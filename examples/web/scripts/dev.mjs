// One command for the example app: builds the kit, starts a local tokengate
// (the repository's own build, development mode, CORS open to the app) and
// Vite's dev server, and stops both on Ctrl-C.
//
//   npm run example:web                   # header mode
//   AUTH_MODE=cookie npm run example:web  # refresh token in an HttpOnly cookie
//   ACCESS_TOKEN_TTL=10s npm run example:web  # watch refreshes happen
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const web = fileURLToPath(new URL('..', import.meta.url));
const mode = process.env.AUTH_MODE === 'cookie' ? 'cookie' : 'header';
const apiPort = process.env.PORT ?? '4000';
const appOrigin = 'http://localhost:5173';

execFileSync('npm', ['run', '--silent', 'build', '-w', '@tokengate/apollo-auth'], { cwd: root, stdio: 'inherit' });
if (!existsSync(`${root}/dist/main.js`)) execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });

const children = [
  spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      PORT: apiPort,
      CORS_ORIGINS: process.env.CORS_ORIGINS ?? appOrigin,
      // Social sign-in (when OIDC_PROVIDERS is set) may send the browser back to the app.
      OAUTH_REDIRECT_ORIGINS: process.env.OAUTH_REDIRECT_ORIGINS ?? appOrigin,
      REFRESH_TOKEN_COOKIE: mode === 'cookie' ? 'true' : 'false',
      // Plain http on localhost: Secure cookies would not be stored.
      COOKIE_SECURE: 'false',
      // Passkeys made on the app's page (and on the explorer's) are for the RP ID localhost.
      WEBAUTHN_ORIGINS: process.env.WEBAUTHN_ORIGINS ?? `${appOrigin},http://localhost:${apiPort}`,
    },
  }),
  spawn('npx', ['vite'], {
    cwd: web,
    stdio: 'inherit',
    env: { ...process.env, AUTH_MODE: mode, TOKENGATE_URL: `http://localhost:${apiPort}/graphql` },
  }),
];
process.stdout.write(`\n  tokengate on http://localhost:${apiPort}/graphql, the app on ${appOrigin} (${mode} mode)\n\n`);

const stop = () => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const child of children) child.on('exit', stop);
