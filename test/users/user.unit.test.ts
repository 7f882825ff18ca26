import { describe, it, expect } from 'vitest';
import { isValidUsername, normalizeRoles, usernameKey } from '../../src/users/user.js';
import type { Role } from '../../src/users/user.js';

describe('isValidUsername', () => {
  it.each(['bob', 'Alice', 'alice.smith', 'a_b-c.d', 'User123', '0-9', 'a'.repeat(64)])('accepts %j', (name) => {
    expect(isValidUsername(name)).toBe(true);
  });

  it.each([
    ['2 characters', 'ab'],
    ['65 characters', 'a'.repeat(65)],
    ['an empty string', ''],
    ['a space inside', 'alice smith'],
    ['a leading space', ' alice'],
    ['a trailing newline', 'alice\n'],
    ['an @', 'alice@example.com'],
    ['a Cyrillic look-alike А (U+0410)', '\u0410dmin'],
    ['an accented letter', 'jos\u00e9'],
    ['a fullwidth letter', '\uff41lice'],
    ['SQL metacharacters', "a'; drop table users;--"],
    ['a slash', 'a/b/c'],
  ])('rejects %s', (_label, name) => {
    expect(isValidUsername(name)).toBe(false);
  });
});

describe('usernameKey', () => {
  it('lower-cases, so Alice and alice share one key', () => {
    expect(usernameKey('Alice')).toBe('alice');
    expect(usernameKey('ALICE')).toBe(usernameKey('alice'));
    expect(usernameKey('Mixed.Case_Name-1')).toBe('mixed.case_name-1');
  });
});

describe('normalizeRoles', () => {
  it.each<[readonly Role[], Role[]]>([
    [[], []],
    [['USER'], ['USER']],
    [['ADMIN'], ['ADMIN']],
    [['ADMIN', 'USER'], ['USER', 'ADMIN']],
    [['USER', 'ADMIN', 'USER', 'ADMIN'], ['USER', 'ADMIN']],
    [['ADMIN', 'ADMIN'], ['ADMIN']],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeRoles(input)).toEqual(expected);
  });

  it('does not modify its input', () => {
    const input: Role[] = ['ADMIN', 'USER', 'ADMIN'];
    normalizeRoles(input);
    expect(input).toEqual(['ADMIN', 'USER', 'ADMIN']);
  });
});
