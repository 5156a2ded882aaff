import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MIGRATIONS_DIR,
  MigrationError,
  migrateDeploy,
} from '../../../examples/bt-cts/apps/api/src/migrate.ts';
import {
  PENDING_MIGRATION,
  SOURCE_SCHEMA_MIGRATION,
} from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import {
  COMMITTED_MIGRATIONS,
  copyMigrations,
  createDatabase,
  passwordOf,
  query,
  runApp,
  stopAllApps,
} from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;
let cluster: Cluster;

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

const migrationRows = (url: string) =>
  query<MigrationRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name');

/** Hex SHA-256 of each committed migration.sql, computed here independently of the app. */
async function expectedChecksums(dir = COMMITTED_MIGRATIONS): Promise<Map<string, string>> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const sums = new Map<string, string>();
  for (const name of names)
    sums.set(
      name,
      createHash('sha256')
        .update(await readFile(join(dir, name, 'migration.sql')))
        .digest('hex'),
    );
  return sums;
}

/** A migration that creates a table, then fails: the table must not survive. */
function brokenMigrationSql(): string {
  return [
    '-- CreateTable',
    'CREATE TABLE "HalfDone" ("id" SERIAL NOT NULL, CONSTRAINT "HalfDone_pkey" PRIMARY KEY ("id"));',
    '',
    '-- AlterTable',
    'ALTER TABLE "NoSuchTable" ADD COLUMN "x" TEXT;',
    '',
  ].join('\n');
}

beforeAll(async () => {
  cluster = await createTemporaryCluster();
});

afterAll(async () => {
  const strays = await stopAllApps();
  await cluster?.destroy();
  expect(strays).toBe(0);
  if (cluster) expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
});

describe('migrate deploy', () => {
  it('creates _prisma_migrations with the columns Prisma creates', async () => {
    const url = await createDatabase(cluster);
    await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
    const columns = await query(
      url,
      `SELECT column_name, data_type, character_maximum_length AS length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        length: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'logs', data_type: 'text', length: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    const primaryKey = await query(
      url,
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = '"_prisma_migrations"'::regclass AND i.indisprimary`,
    );
    expect(primaryKey).toEqual([{ attname: 'id' }]);
  });

  it('applies every migration in order and records each with its hex SHA-256 checksum and finished_at', async () => {
    const url = await createDatabase(cluster);
    const result = await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
    const sums = await expectedChecksums();
    expect(result.applied).toEqual([...sums.keys()]);

    const rows = await migrationRows(url);
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual([...sums.entries()]);
    for (const row of rows) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
    }
    const tables = await query<{ table_name: string }>(
      url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    // BT-CTS's tables; no "session": the session store creates that one when the app starts.
    expect(tables.map((t) => t.table_name)).toEqual([
      'Account',
      'AuditLog',
      'Branch',
      'DayCycle',
      'Transaction',
      'User',
      '_prisma_migrations',
    ]);
  });

  it('leaves exactly the newest migration pending when told to stop before it (the source drill drift)', async () => {
    const url = await createDatabase(cluster);
    const names = [...(await expectedChecksums()).keys()];
    expect(PENDING_MIGRATION).toBe(names.at(-1));
    expect(SOURCE_SCHEMA_MIGRATION).toBe(names.at(-2));

    const result = await migrateDeploy(url, {
      migrationsDir: MIGRATIONS_DIR,
      until: SOURCE_SCHEMA_MIGRATION,
    });
    expect(result.applied).toEqual(names.slice(0, -1));
    const recorded = (await migrationRows(url)).map((r) => r.migration_name);
    expect(recorded).not.toContain(PENDING_MIGRATION);
  });

  it('applies the pending migration from the command line and prints what it applied, never the password', async () => {
    const url = await createDatabase(cluster);
    await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR, until: SOURCE_SCHEMA_MIGRATION });

    const run = await runApp('migrate.ts', { DATABASE_URL: url });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`applied ${PENDING_MIGRATION}`);
    expect(run.output).not.toContain(passwordOf(url));

    const rows = await migrationRows(url);
    const pending = rows.find((r) => r.migration_name === PENDING_MIGRATION);
    expect(pending?.finished_at).toBeInstanceOf(Date);
    expect(pending?.checksum).toBe((await expectedChecksums()).get(PENDING_MIGRATION));
    const indexes = await query(
      url,
      `SELECT indexname FROM pg_indexes WHERE indexname IN ('Account_loadedDate_idx', 'Transaction_createdAt_idx') ORDER BY 1`,
    );
    expect(indexes).toEqual([
      { indexname: 'Account_loadedDate_idx' },
      { indexname: 'Transaction_createdAt_idx' },
    ]);
  });

  it('is idempotent: a second deploy applies nothing and leaves the records as they were', async () => {
    const url = await createDatabase(cluster);
    await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
    const before = await migrationRows(url);

    const again = await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(before.map((r) => r.migration_name));
    expect(await migrationRows(url)).toEqual(before);

    const run = await runApp('migrate.ts', { DATABASE_URL: url });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('No pending migrations to apply.');
    expect(await migrationRows(url)).toEqual(before);
  });

  it('refuses a migration edited after it was applied, naming it, and applies nothing newer', async () => {
    const url = await createDatabase(cluster);
    const scratch = await copyMigrations();
    try {
      await migrateDeploy(url, { migrationsDir: scratch.dir, until: SOURCE_SCHEMA_MIGRATION });
      const before = await migrationRows(url);
      const edited = before[0]?.migration_name ?? '';
      await appendFile(join(scratch.dir, edited, 'migration.sql'), '\n-- edited after deploy\n');

      const error = await migrateDeploy(url, { migrationsDir: scratch.dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migration).toBe(edited);
      expect((error as MigrationError).message).toMatch(
        new RegExp(`${edited} was modified after it was applied`),
      );

      const run = await runApp('migrate.ts', { DATABASE_URL: url, MIGRATIONS_DIR: scratch.dir });
      expect(run.code).toBe(1);
      expect(run.output).toContain(edited);
      expect(run.output).not.toContain(passwordOf(url));
      // The pending migration was not applied behind the refusal.
      expect(await migrationRows(url)).toEqual(before);
    } finally {
      await scratch.remove();
    }
  });

  it('records a failed migration as Prisma does, rolls its changes back and exits non-zero naming it', async () => {
    const url = await createDatabase(cluster);
    const scratch = await copyMigrations();
    const broken = '20991231235959_broken_change';
    try {
      await mkdir(join(scratch.dir, broken));
      await writeFile(join(scratch.dir, broken, 'migration.sql'), brokenMigrationSql());

      const run = await runApp('migrate.ts', { DATABASE_URL: url, MIGRATIONS_DIR: scratch.dir });
      expect(run.code).toBe(1);
      expect(run.output).toContain(`migration ${broken} failed`);
      expect(run.output).toContain('NoSuchTable');

      const rows = await migrationRows(url);
      const failed = rows.find((r) => r.migration_name === broken);
      expect(failed).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
      expect(failed?.logs).toContain('NoSuchTable');
      expect(failed?.checksum).toBe(createHash('sha256').update(brokenMigrationSql()).digest('hex'));
      // Every migration before it is applied and finished.
      expect(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name)).toEqual([
        ...(await expectedChecksums()).keys(),
      ]);
      const halfDone = await query(url, `SELECT to_regclass('"HalfDone"') AS t`);
      expect(halfDone).toEqual([{ t: null }]);

      // Like Prisma (P3009), the next deploy refuses until someone resolves the failed migration.
      const again = await runApp('migrate.ts', { DATABASE_URL: url, MIGRATIONS_DIR: scratch.dir });
      expect(again.code).toBe(1);
      expect(again.output).toMatch(new RegExp(`${broken} failed earlier`));

      // Resolved as `prisma migrate resolve --rolled-back` does, and fixed: the next deploy applies it anew.
      await query(url, `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, [
        broken,
      ]);
      await writeFile(
        join(scratch.dir, broken, 'migration.sql'),
        'CREATE TABLE "HalfDone" ("id" SERIAL PRIMARY KEY);\n',
      );
      const fixed = await migrateDeploy(url, { migrationsDir: scratch.dir });
      expect(fixed.applied).toEqual([broken]);
      const attempts = (await migrationRows(url)).filter((r) => r.migration_name === broken);
      expect(attempts.map((r) => [r.rolled_back_at === null, r.finished_at === null])).toEqual([
        [false, true],
        [true, false],
      ]);
    } finally {
      await scratch.remove();
    }
  });

  it('refuses an until that names no migration and creates nothing', async () => {
    const url = await createDatabase(cluster);
    await expect(
      migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR, until: '20000101000000_nothing' }),
    ).rejects.toThrow(/until: no migration named "20000101000000_nothing"/);
    expect(await query(url, `SELECT to_regclass('"_prisma_migrations"') AS t`)).toEqual([{ t: null }]);
  });

  it('exits 2 and says which variable is missing when DATABASE_URL is not set', async () => {
    const run = await runApp('migrate.ts', {});
    expect(run.code).toBe(2);
    expect(run.output).toContain('DATABASE_URL is not set');
  });

  it('fails with a clear message, and without the password, when the database cannot be reached', async () => {
    const url = new URL(cluster.url('postgres'));
    url.port = '1';
    const run = await runApp('migrate.ts', { DATABASE_URL: url.toString() });
    expect(run.code).toBe(1);
    expect(run.output).toContain('cannot connect to the database');
    expect(run.output).not.toContain(passwordOf(url.toString()));
  });
});
