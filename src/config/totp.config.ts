import { z } from 'zod';

/** Two-factor authentication settings (../shared/API.md, "Two-factor authentication (TOTP)"). */
export interface TotpConfig {
  /** The issuer shown in authenticator apps, and the label prefix of `otpauthUrl`. */
  readonly issuer: string;
}

/** The environment variables of this section, merged into config.ts's schema. */
export const totpSettings = {
  TOTP_ISSUER: z
    .string()
    .max(64, { message: 'TOTP_ISSUER must be at most 64 characters' })
    .refine((v) => !v.includes(':'), { message: 'TOTP_ISSUER must not contain ":" (it separates issuer and account in the otpauth label)' })
    .default('tokengate'),
};

/** Builds the section from the parsed environment. */
export function totpConfig(e: { readonly TOTP_ISSUER: string }): TotpConfig {
  return Object.freeze({ issuer: e.TOTP_ISSUER });
}
