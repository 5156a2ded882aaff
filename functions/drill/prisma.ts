/** Reads what Prisma recorded in the restored database: the `_prisma_migrations` table. */
import pg from 'pg';
import type { AppliedMigration } from '../core/drift.ts';

/** Rows of `_prisma_migrations`; none when the table does not exist (a database never migrated). */
export async function readAppliedMigrations(databaseUrl: string): Promise<AppliedMigration[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query<{ t: string | null }>(
      `SELECT to_regclass('public._prisma_migrations')::text AS t`,
    );
    if (!exists.rows[0]?.t) return [];
    const result = await client.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
    }>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at, migration_name',
    );
    return result.rows.map((row) => ({
      migrationName: row.migration_name,
      checksum: row.checksum,
      finishedAt: row.finished_at?.toISOString() ?? null,
      rolledBackAt: row.rolled_back_at?.toISOString() ?? null,
    }));
  } finally {
    await client.end();
  }
}
