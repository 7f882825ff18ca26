import { z } from 'zod';
import type { ConfigSection } from '../section.js';

/** Two-factor authentication settings (docs/api.md, "Two-factor authentication (TOTP)"). */
export interface TotpConfig {
  /** The issuer shown in authenticator apps, and the label prefix of `otpauthUrl`. */
  readonly issuer: string;
}

const fields = {
  TOTP_ISSUER: z
    .string()
    .max(64, { message: 'TOTP_ISSUER must be at most 64 characters' })
    .refine((v) => !v.includes(':'), { message: 'TOTP_ISSUER must not contain ":" (it separates issuer and account in the otpauth label)' })
    .default('tokengate'),
};

/** TOTP_ISSUER. */
export const totpSection: ConfigSection<typeof fields, { readonly totp: TotpConfig }> = {
  title: 'Two-factor authentication',
  notes: 'See [Two-factor authentication](../guides/two-factor.md).',
  fields,
  docs: {
    TOTP_ISSUER:
      'The issuer name authenticator apps show, and the label prefix of `otpauthUrl` (`otpauth://totp/<issuer>:<username>?…`); at most 64 characters, no `:`.',
  },
  build: (e) => ({ totp: Object.freeze({ issuer: e.TOTP_ISSUER }) }),
};
