/** Whether a driver error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Whether a unique violation is the one of column `column` (e.g. `email_key`), on SQLite or PostgreSQL. */
export function isUniqueViolationOf(error: unknown, column: string): boolean {
  if (!isUniqueViolation(error)) return false;
  const e = error as { message?: unknown; constraint?: unknown; detail?: unknown };
  // SQLite: "UNIQUE constraint failed: users.email_key"; PostgreSQL: constraint users_email_key_idx, detail "Key (email_key)=…".
  return [e.message, e.constraint, e.detail].some((text) => typeof text === 'string' && new RegExp(`\\b${column}\\b|_${column}_`).test(text));
}
