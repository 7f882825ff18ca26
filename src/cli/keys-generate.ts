import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateSigningKeyPem, parseSigningKey, type AsymmetricAlgorithm } from '../tokens/signing-keys.js';

const USAGE = `Usage: npm run keys:generate -- --alg ES256|RS256 --out FILE

Writes a new private signing key (PKCS#8 PEM, file mode 0600) for
JWT_PRIVATE_KEY_FILE and prints its kid (the RFC 7638 thumbprint that tokens
signed with it carry). Never overwrites an existing file.
  ES256: an EC key on P-256 (small, fast to sign)   RS256: a 2048-bit RSA key`;

/** Parses the arguments, writes the key, prints the kid; returns the exit code. */
function run(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { alg: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const algorithm = values.alg?.toUpperCase();
  if ((algorithm !== 'ES256' && algorithm !== 'RS256') || values.out === undefined || values.out === '') {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const file = path.resolve(values.out);
  const pem = generateSigningKeyPem(algorithm as AsymmetricAlgorithm);
  try {
    // 'wx': refuse to replace a file, above all the key in use.
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    process.stderr.write(code === 'EEXIST' ? `keys:generate: ${file} exists; it is left alone (choose another --out)\n` : `keys:generate: cannot write ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return code === 'EEXIST' ? 73 : 74; // EX_CANTCREAT, EX_IOERR
  }
  const { kid } = parseSigningKey(pem, algorithm as AsymmetricAlgorithm);
  process.stderr.write(`Wrote a new ${algorithm} private key to ${file} (mode 0600). Its kid:\n`);
  process.stdout.write(`${kid}\n`);
  return 0;
}

process.exit(run(process.argv.slice(2)));
