/**
 * Builds the *source* database the local engine protects: every migration but the newest, then
 * the seed. Leaving the newest migration unapplied is deliberate: a restored copy must show drift,
 * so every drill exercises the runbook's "apply Prisma migrations if drift is detected" step.
 */
import { readdirSync } from 'node:fs';
import { MIGRATIONS_DIR, type MigrateDeployResult, migrateDeploy } from './migrate.ts';
import { resolveSeedOptions, type SeedOptions, type SeedResult, seed } from './seed.ts';

function migrationNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

const names = migrationNames(MIGRATIONS_DIR);
const newest = names.at(-1);
const previous = names.at(-2);
if (newest === undefined || previous === undefined)
  throw new Error(`${MIGRATIONS_DIR} must hold at least two migrations (one applied, one pending)`);

/** The newest migration: what a provisioned source has not applied and a drill must apply. */
export const PENDING_MIGRATION: string = newest;
/** The newest migration a provisioned source has applied. */
export const SOURCE_SCHEMA_MIGRATION: string = previous;

/** What the seed takes (the admin's credentials, volumes), as the local engine passes it. */
export type ProvisionOptions = SeedOptions;

export interface ProvisionResult {
  readonly migrations: MigrateDeployResult;
  readonly pendingMigration: string;
  readonly seed: SeedResult;
}

/**
 * Migrates to all but the newest migration, then seeds (admin `adminUsername`, default `admin`,
 * with `adminPassword`). Bad options are refused before anything is created; so is a database
 * that is already seeded.
 */
export async function provisionSource(
  databaseUrl: string,
  options: ProvisionOptions,
): Promise<ProvisionResult> {
  resolveSeedOptions(options);
  const migrations = await migrateDeploy(databaseUrl, {
    migrationsDir: MIGRATIONS_DIR,
    until: SOURCE_SCHEMA_MIGRATION,
  });
  const seeded = await seed(databaseUrl, options);
  return { migrations, pendingMigration: PENDING_MIGRATION, seed: seeded };
}
