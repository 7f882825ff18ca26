import { AppError, ErrorCode } from '../errors.js';
import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { accountsResolvers } from './accounts.resolvers.js';

/**
 * Accounts (docs/api.md, "Users and roles"): the signed-in user, the user
 * list and roles for admins, and the bootstrap admin (ADMIN_USERNAME),
 * created at first start once the database is migrated.
 */
export function createAccountsFeature(core: Core): Feature {
  const { users, logger, config } = core;
  return {
    name: 'accounts',
    schema: ['users.graphql'],
    resolvers: accountsResolvers(users),
    async start() {
      const admin = config.bootstrapAdmin;
      if (!admin) return;
      try {
        await users.createUser({ username: admin.username, password: admin.password, roles: ['USER', 'ADMIN'] });
        logger.info({ username: admin.username }, 'created the admin account from ADMIN_USERNAME');
      } catch (error) {
        if (error instanceof AppError && error.code === ErrorCode.USERNAME_TAKEN) return;
        throw error;
      }
    },
  };
}
