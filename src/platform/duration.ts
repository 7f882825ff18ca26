const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/**
 * Parses the contract's duration syntax (`3s`, `15m`, `12h`, `30d`) into whole
 * seconds; returns null for anything else. Strict on purpose: `15` or `1.5h`
 * in a security setting is more likely a mistake than a wish.
 */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!match) return null;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_SECONDS];
  return Number(amount) * UNIT_SECONDS[unit];
}
