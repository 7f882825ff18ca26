// Stands in for @apollo/utils.createhash in the bundle (scripts/build.mjs).
// The original picks Node's crypto through `module.require`, which esbuild's
// CommonJS wrapper does not provide, so bundled it fell back to sha.js, a
// pure-JavaScript SHA-256, for the hash Apollo takes of every query text.
import { createHash as nodeCreateHash } from 'node:crypto';

/** Node's own hash, as @apollo/utils.createhash returns it under Node. */
export function createHash(kind) {
  return nodeCreateHash(kind);
}
