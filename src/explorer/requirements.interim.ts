import type { RequirementMap } from './requirements.js';

/*
 * INTERIM: who may call each root field, as src/graphql/permissions.ts
 * decides it today. The sdl-rules branch generates this map from the schema's
 * directives (src/graphql/generated/requirements.ts); once it is on main,
 * requirements.ts imports that module and this file is deleted.
 * test/unit/explorer-requirements.test.ts fails when a root field of the
 * schema is missing here, so the stopgap cannot drift silently.
 */
export const interimRequirements: RequirementMap = {
  Query: {
    me: { signedIn: true },
    protected: { signedIn: true },
    mySessions: { signedIn: true },
    user: { signedIn: true, role: 'ADMIN' },
    users: { signedIn: true, role: 'ADMIN' },
  },
  Mutation: {
    signup: { public: true },
    login: { public: true },
    refreshToken: { public: true },
    logout: { signedIn: true },
    logoutAll: { signedIn: true },
    revokeSession: { signedIn: true },
    changePassword: { signedIn: true, fresh: true },
    setUserRoles: { signedIn: true, role: 'ADMIN' },
  },
};
