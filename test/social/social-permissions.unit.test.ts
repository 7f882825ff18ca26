import { describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graphql/schema.js';
import { deriveRequirements, deriveRuleMap, rules } from '../../src/graphql/permissions.js';

/** Who may call each social sign-in field, as the SDL declares it (docs/api.md, "Social sign-in"). */
describe('social sign-in permissions', () => {
  const map = deriveRuleMap(buildSchema());

  it('keeps oauthProviders, startOAuth and completeOAuth public, unlinkIdentity behind a fresh token, identities to self or ADMIN', () => {
    expect(map.Query?.oauthProviders).toBe(rules.allow);
    expect(map.Mutation?.startOAuth).toBe(rules.allow); // link: true checks the fresh token in the service, before any write
    expect(map.Mutation?.completeOAuth).toBe(rules.allow);
    expect(map.Mutation?.unlinkIdentity).toBe(rules.hasFreshToken);
    expect(map.User?.identities).toBe(rules.isSelfOrAdmin);
    for (const field of ['name', 'label']) expect(map.OAuthProvider?.[field]).toBe(rules.allow);
    for (const field of ['provider', 'subject', 'email', 'linkedAt']) expect(map.Identity?.[field]).toBe(rules.allow);
  });

  it('tells clients the same', () => {
    const needs = deriveRequirements(buildSchema());
    expect(needs.Query.oauthProviders).toEqual({});
    expect(needs.Mutation.startOAuth).toEqual({});
    expect(needs.Mutation.completeOAuth).toEqual({});
    expect(needs.Mutation.unlinkIdentity).toEqual({ signedIn: true, fresh: true });
  });
});
