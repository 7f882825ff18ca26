import { z } from 'zod';
import { boolean } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** The accounts part of Config: who may sign up, and the admin made at start-up. */
export interface AccountsConfig {
  readonly signupEnabled: boolean;
  /** Create this admin at start-up when no user of that name exists. */
  readonly bootstrapAdmin: { readonly username: string; readonly password: string } | null;
}

const fields = {
  SIGNUP_ENABLED: boolean('SIGNUP_ENABLED').prefault('true'),
  ADMIN_USERNAME: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
};

/** SIGNUP_ENABLED and the bootstrap admin. */
export const accountsSection: ConfigSection<typeof fields, AccountsConfig> = {
  title: 'Accounts',
  notes: 'See [Creating an admin](../guides/admin.md) for the other ways to make one (`npm run user:create`).',
  fields,
  docs: {
    SIGNUP_ENABLED: 'When `false`, `signup` answers `FORBIDDEN`.',
    ADMIN_USERNAME: {
      default: 'none',
      description: 'With `ADMIN_PASSWORD`: an admin account created at start-up if no user of that name exists. Set both or neither.',
    },
    ADMIN_PASSWORD: { default: 'none', description: 'See `ADMIN_USERNAME`.' },
  },
  check: ({ raw }) =>
    (raw.ADMIN_USERNAME === undefined) !== (raw.ADMIN_PASSWORD === undefined)
      ? ['ADMIN_USERNAME and ADMIN_PASSWORD go together: set both or neither']
      : [],
  build: (e) => ({
    signupEnabled: e.SIGNUP_ENABLED,
    bootstrapAdmin:
      e.ADMIN_USERNAME !== undefined && e.ADMIN_PASSWORD !== undefined ? Object.freeze({ username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD }) : null,
  }),
};
