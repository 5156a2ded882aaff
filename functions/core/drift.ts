/**
 * Schema drift between a restored database and the migrations captured with the backup: the
 * runbook applies migrations "if schema drift is detected". Prisma's own `migrate deploy` and
 * `migrate status` do not notice a migration edited after it was applied, so the drill compares
 * checksums itself.
 */

/** A row of Prisma's `_prisma_migrations` table, as read from the restored database. */
export interface AppliedMigration {
  readonly migrationName: string;
  /** Hex SHA-256 of the `migration.sql` bytes at the time it was applied. */
  readonly checksum: string;
  readonly finishedAt: string | null;
  readonly rolledBackAt: string | null;
}

/** A migration the app ships (from the captured artifacts manifest). */
export interface ExpectedMigration {
  readonly migrationName: string;
  readonly checksum: string;
}

export interface DriftReport {
  /** Shipped, never applied: `migrate deploy` will apply these (in this order). */
  readonly pending: readonly string[];
  /** Started but never finished and not rolled back: `migrate deploy` refuses to run (Prisma P3009). */
  readonly failed: readonly string[];
  /** Applied, but the shipped `migration.sql` differs from what was applied. */
  readonly modified: readonly { name: string; applied: string; shipped: string }[];
  /** Applied in the database, unknown to the shipped migrations (a newer app, or a manual change). */
  readonly unknown: readonly string[];
  /** True when the migrate step must run. */
  readonly needsMigrate: boolean;
  /** True when migrating cannot bring the schema to what the app expects (failed or modified migrations). */
  readonly blocking: boolean;
}

/**
 * Compares what the restored database recorded with what the app ships. Rolled-back rows are
 * ignored as Prisma does; the newest row per migration name counts.
 */
export function detectDrift(
  applied: readonly AppliedMigration[],
  expected: readonly ExpectedMigration[],
): DriftReport {
  const live = new Map<string, AppliedMigration>();
  for (const row of applied) {
    if (row.rolledBackAt !== null) continue;
    const previous = live.get(row.migrationName);
    // A finished row wins over an unfinished one for the same name (a failed attempt retried).
    if (!previous || (previous.finishedAt === null && row.finishedAt !== null))
      live.set(row.migrationName, row);
  }
  const shipped = new Map(expected.map((m) => [m.migrationName, m]));

  const pending = [...shipped.keys()].filter((name) => !live.has(name)).sort();
  const failed = [...live.values()]
    .filter((row) => row.finishedAt === null)
    .map((row) => row.migrationName)
    .sort();
  const modified = [...live.values()]
    .filter((row) => row.finishedAt !== null)
    .flatMap((row) => {
      const ship = shipped.get(row.migrationName);
      return ship && ship.checksum !== row.checksum
        ? [{ name: row.migrationName, applied: row.checksum, shipped: ship.checksum }]
        : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const unknown = [...live.keys()].filter((name) => !shipped.has(name)).sort();

  return {
    pending,
    failed,
    modified,
    unknown,
    needsMigrate: pending.length > 0,
    blocking: failed.length > 0 || modified.length > 0,
  };
}

/** One line for a step detail or a report. */
export function describeDrift(drift: DriftReport): string {
  const parts: string[] = [];
  if (drift.pending.length > 0) parts.push(`${drift.pending.length} pending (${drift.pending.join(', ')})`);
  if (drift.failed.length > 0) parts.push(`${drift.failed.length} failed (${drift.failed.join(', ')})`);
  if (drift.modified.length > 0)
    parts.push(
      `${drift.modified.length} modified after applied (${drift.modified.map((m) => m.name).join(', ')})`,
    );
  if (drift.unknown.length > 0)
    parts.push(`${drift.unknown.length} unknown to the app (${drift.unknown.join(', ')})`);
  return parts.length === 0 ? 'no drift: every shipped migration is applied unchanged' : parts.join('; ');
}

/**
 * The migrations a manifest of captured artifacts ships: every `<dir>/<name>/migration.sql`
 * below the migrations folder.
 */
export function migrationsFromManifest(
  files: readonly { path: string; sha256: string }[],
  migrationsDir: string,
): ExpectedMigration[] {
  const prefix = `${migrationsDir.replace(/\/+$/, '')}/`;
  return files
    .filter((f) => f.path.startsWith(prefix))
    .flatMap((f) => {
      const rest = f.path.slice(prefix.length).split('/');
      return rest.length === 2 && rest[1] === 'migration.sql' && rest[0]
        ? [{ migrationName: rest[0], checksum: f.sha256 }]
        : [];
    })
    .sort((a, b) => a.migrationName.localeCompare(b.migrationName));
}
