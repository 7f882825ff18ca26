import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chain, race, rule } from 'graphql-shield';
import type * as Shield from 'graphql-shield';

/*
 * graphql-shield 7.6.5 calls util.isUndefined, which Node.js 23 removed: its ES
 * module build fails to load on Node 24 and 26, and its CommonJS build throws
 * on the first chain or race rule. patches/graphql-shield+7.6.5.patch (applied
 * by patch-package in our postinstall) replaces the call, as the unreleased
 * upstream fix (maticzav/graphql-shield#1552) does. These tests fail when the
 * patch is not applied, on every Node.js line: the file checks on 22, the
 * evaluations on 24 and newer as well.
 */
const require = createRequire(import.meta.url);
const shieldDir = dirname(require.resolve('graphql-shield/package.json'));
const builds = { esm: join(shieldDir, 'esm/rules.js'), cjs: join(shieldDir, 'cjs/rules.js') };

/** What the shield middleware calls on every rule, logic rules included. */
interface Resolvable {
  resolve(parent: unknown, args: unknown, ctx: unknown, info: unknown, options: unknown): Promise<unknown>;
}

/** A rule answering `answer`, with no cache (each test evaluates it once). */
function fixed(answer: boolean): ReturnType<ReturnType<typeof rule>> {
  return rule({ cache: 'no_cache' })(() => answer);
}

/** Runs a rule the way the shield middleware does, with no parent, args or context. */
function evaluate(r: Resolvable): Promise<unknown> {
  return r.resolve(undefined, {}, {}, { fieldName: 'f', parentType: { name: 'Query' } }, { allowExternalErrors: true, debug: false });
}

describe('graphql-shield on Node.js 23 and newer (patches/graphql-shield+7.6.5.patch)', () => {
  it.each(Object.entries(builds))('the %s build does not use util.isUndefined', (_name, file) => {
    const source = readFileSync(file, 'utf8');
    expect(source).not.toMatch(/isUndefined/);
    expect(source).not.toMatch(/from 'util'|require\("util"\)/);
  });

  it('a chain runs every rule to its end (the loop that called isUndefined)', async () => {
    await expect(evaluate(chain(fixed(true), fixed(true)))).resolves.toBe(true);
    await expect(evaluate(chain(fixed(true), fixed(false)))).resolves.toBe(false);
  });

  it('a race stops at the first rule that allows', async () => {
    await expect(evaluate(race(fixed(false), fixed(true)))).resolves.toBe(true);
    await expect(evaluate(race(fixed(false), fixed(false)))).resolves.toBe(false);
  });

  it('the CommonJS build evaluates a chain too', async () => {
    const cjs = require(join(shieldDir, 'cjs/index.js')) as typeof Shield;
    await expect(evaluate(cjs.chain(cjs.rule({ cache: 'no_cache' })(() => true), cjs.rule({ cache: 'no_cache' })(() => true)))).resolves.toBe(true);
  });
});
