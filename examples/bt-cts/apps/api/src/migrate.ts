/**
 * Stands in for `prisma migrate deploy`: Prisma's CLI downloads its schema engine at run time and
 * cannot on an offline machine. It keeps Prisma's own bookkeeping (`_prisma_migrations`, same
 * columns, hex SHA-256 checksum of each `migration.sql`) so that a database migrated here and one
 * migrated by Prisma look the same to the drill, and it refuses one thing Prisma lets through: an
 * applied migration whose file was edited afterwards.
 *
 * CLI: `DATABASE_URL=... node --import tsx apps/api/src/migrate.ts` (cwd `examples/bt-cts`).
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type pg from 'pg';
import { type DriftReport, detectDrift } from '../../../../../functions/core/drift.ts';
import { readAppliedMigrations } from '../../../../../functions/drill/prisma.ts';
import { sha256Hex } from '../../../../../functions/shared/checksums.ts';
import { createClient, describeError } from './db.ts';

/** The app's migrations folder, wherever the process was started from. */
export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../prisma/migrations');

/** Prisma's advisory lock key: two deploys (ours or Prisma's) never run at once. */
const PRISMA_ADVISORY_LOCK = 72707369;

/** Prisma names a migration folder `<YYYYMMDDHHMMSS>_<name>`. */
const MIGRATION_NAME = /^\d{14}_[A-Za-z0-9_]+$/;

/** Prisma's DDL for its bookkeeping table (schema engine, PostgreSQL flavour). */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** Why a deploy stopped; `migration` names the migration at fault so on-call knows where to look. */
export class MigrationError extends Error {
  readonly migration: string | null;

  constructor(message: string, migration: string | null, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

export interface LocalMigration {
  readonly name: string;
  readonly sql: string;
  /** Hex SHA-256 of the `migration.sql` bytes, as Prisma records it. */
  readonly checksum: string;
}

/** Every `<name>/migration.sql` in the folder, in Prisma's order (by name). */
export async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationError(
      `migrations folder ${migrationsDir} cannot be read: ${describeError(error)}`,
      null,
      { cause: error },
    );
  }
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    if (!MIGRATION_NAME.test(name))
      throw new MigrationError(
        `migration folder "${name}" in ${migrationsDir} is not named <YYYYMMDDHHMMSS>_<name> as Prisma names them`,
        name,
      );
    let bytes: Buffer;
    try {
      bytes = await readFile(join(migrationsDir, name, 'migration.sql'));
    } catch (error) {
      throw new MigrationError(
        `migration ${name} has no readable migration.sql: ${describeError(error)}`,
        name,
        {
          cause: error,
        },
      );
    }
    migrations.push({ name, sql: bytes.toString('utf8'), checksum: sha256Hex(bytes) });
  }
  return migrations;
}

// The rows Prisma records, read the way the drill reads them.
export { readAppliedMigrations };

/** What the database recorded compared with what the app ships (pending, failed, modified, unknown). */
export async function migrationStatus(
  client: pg.ClientBase,
  migrations: readonly LocalMigration[],
): Promise<DriftReport> {
  const applied = await readAppliedMigrations(client);
  return detectDrift(
    applied,
    migrations.map((m) => ({ migrationName: m.name, checksum: m.checksum })),
  );
}

export interface MigrateDeployOptions {
  readonly migrationsDir: string;
  /** Apply migrations up to and including this one only (how the source is left one migration behind). */
  readonly until?: string;
  /** Progress lines (one per migration); default: none. */
  readonly log?: (line: string) => void;
}

export interface MigrateDeployResult {
  /** Applied by this run, in order. */
  readonly applied: readonly string[];
  /** Found already applied with an unchanged checksum. */
  readonly alreadyApplied: readonly string[];
  /** Recorded in the database but not in the migrations folder (left alone, as Prisma does). */
  readonly unknown: readonly string[];
}

function failedMigrationMessage(name: string): string {
  return (
    `migration ${name} failed earlier and is recorded unfinished in _prisma_migrations ` +
    `(Prisma P3009): fix the database, then mark it rolled back ` +
    `(prisma migrate resolve --rolled-back ${name}) before deploying again`
  );
}

/**
 * Applies the pending migrations in order, each in its own transaction together with its
 * `finished_at`, so a migration is never half applied nor applied without its record. A failed
 * migration stays recorded with `finished_at` NULL and its error in `logs`, as Prisma records it.
 */
export async function migrateDeploy(
  databaseUrl: string,
  options: MigrateDeployOptions,
): Promise<MigrateDeployResult> {
  const log = options.log ?? (() => {});
  const all = await readMigrations(options.migrationsDir);
  let selected = all;
  if (options.until !== undefined) {
    const index = all.findIndex((m) => m.name === options.until);
    if (index < 0)
      throw new MigrationError(
        `until: no migration named ${JSON.stringify(options.until)} in ${options.migrationsDir}`,
        options.until,
      );
    selected = all.slice(0, index + 1);
  }

  const client = createClient(databaseUrl, 'bt-cts-migrate');
  try {
    await client.connect();
  } catch (error) {
    throw new MigrationError(`cannot connect to the database: ${describeError(error)}`, null, {
      cause: error,
    });
  }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const drift = await migrationStatus(client, selected);

    const [failed] = drift.failed;
    if (failed !== undefined) throw new MigrationError(failedMigrationMessage(failed), failed);
    const [modified] = drift.modified;
    if (modified !== undefined)
      throw new MigrationError(
        `migration ${modified.name} was modified after it was applied: migration.sql has checksum ` +
          `${modified.shipped}, the database recorded ${modified.applied}. Restore the original file; ` +
          `schema changes belong in a new migration`,
        modified.name,
      );

    const pending = new Set(drift.pending);
    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const migration of selected) {
      if (!pending.has(migration.name)) {
        alreadyApplied.push(migration.name);
        continue;
      }
      await applyOne(client, migration);
      applied.push(migration.name);
      log(`applied ${migration.name}`);
    }
    const shipped = new Set(all.map((m) => m.name));
    const unknown = drift.unknown.filter((name) => !shipped.has(name));
    return { applied, alreadyApplied, unknown };
  } finally {
    await client.end().catch(() => {});
  }
}

async function applyOne(client: pg.Client, migration: LocalMigration): Promise<void> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), 0)`,
    [id, migration.checksum, migration.name],
  );
  try {
    await client.query('BEGIN');
    await client.query(migration.sql);
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const reason = describeError(error);
    await client
      .query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [
        id,
        `Database error:\n${reason}\n\nin migration ${migration.name}`,
      ])
      .catch(() => {});
    throw new MigrationError(`migration ${migration.name} failed: ${reason}`, migration.name, {
      cause: error,
    });
  }
}

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('migrate: DATABASE_URL is not set (expected postgresql://USER:PASSWORD@HOST:PORT/DB)');
    return 2;
  }
  const migrationsDir = process.env.MIGRATIONS_DIR ? resolve(process.env.MIGRATIONS_DIR) : MIGRATIONS_DIR;
  try {
    const all = await readMigrations(migrationsDir);
    console.log(`${all.length} migrations found in ${migrationsDir}`);
    const result = await migrateDeploy(databaseUrl, { migrationsDir, log: (line) => console.log(line) });
    for (const name of result.unknown)
      console.log(`warning: ${name} is recorded in the database but not in the migrations folder`);
    console.log(
      result.applied.length === 0
        ? 'No pending migrations to apply.'
        : `All migrations have been successfully applied (${result.applied.length}: ${result.applied.join(', ')}).`,
    );
    return 0;
  } catch (error) {
    console.error(`migrate: ${describeError(error)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main();
}
