/**
 * Reads what Prisma recorded in a database: the `_prisma_migrations` table. Shared by the drill's
 * drift detection and the example app's stand-in for `prisma migrate deploy`.
 */
import pg from 'pg';
import type { AppliedMigration } from '../core/drift.ts';

/** Rows of `_prisma_migrations`; none when the table does not exist (a database never migrated). */
export async function readAppliedMigrations(client: pg.ClientBase): Promise<AppliedMigration[]> {
  const exists = await client.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const result = await client.query<{
    migration_name: string;
    checksum: string;
    finished_at: Date | null;
    rolled_back_at: Date | null;
  }>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return result.rows.map((row) => ({
    migrationName: row.migration_name,
    checksum: row.checksum,
    finishedAt: row.finished_at?.toISOString() ?? null,
    rolledBackAt: row.rolled_back_at?.toISOString() ?? null,
  }));
}

/** The same, over a connection of its own. */
export async function readAppliedMigrationsAt(databaseUrl: string): Promise<AppliedMigration[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await readAppliedMigrations(client);
  } finally {
    await client.end();
  }
}
