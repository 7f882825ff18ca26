/** A passkey as the API shows it (docs/api.md, "Passkeys (WebAuthn)"); never its public key or credential id. */
export interface Passkey {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly backedUp: boolean;
  readonly transports: readonly string[];
}
