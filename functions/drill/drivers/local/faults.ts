/**
 * Faults for `recovery-drill drill --local --inject FAULT`: each breaks a real part of the drill
 * (the restore, the migrations, the restored database, the app process) so the drill must find it
 * on its own and raise the escalation class the runbook names. None of them edits the report.
 *
 * They work on any app: what they break is found through the configuration (the session store's
 * table, the tables behind the search and the day state, the critical tables and their timestamp
 * column) and the database catalog (foreign keys, column types, Prisma's migration records), never
 * through the example app's table names. A fault that cannot apply to the configured app is
 * refused before the drill starts, naming what it needs. The session store's table may appear only
 * once the app runs (connect-pg-simple creates it on the first session it stores): the fault then
 * takes hold when the table is created, and if it never is, the drill says it ran without the fault.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Config } from '../../../core/config.ts';
import { InputError } from '../../../core/errors.ts';
import type { EscalationClass } from '../../../core/escalations.ts';
import type { DatabaseRecoveryPort } from '../../ports/database-recovery.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';
import type { DrillTaskStep } from '../../states.ts';
import type { DrillState } from '../../steps.ts';

export interface FaultSpec {
  /** What a person reads in `--help` and in the drill's output. */
  readonly does: string;
  /** The escalation class the drill must raise; null: the drill passes with a warning. */
  readonly expects: EscalationClass | null;
}

export const FAULTS = {
  'restore-failure': {
    does: 'asks the engine for a point past the archived WAL, which it refuses',
    expects: 'RESTORE_FAILED',
  },
  'restore-timeout': {
    does: 'the restored instance never reports available (a hung restore)',
    expects: 'RESTORE_FAILED',
  },
  'migration-failure': {
    does: "erases the newest applied migration's record (_prisma_migrations) and makes the restored database refuse schema changes, so the migrate command fails re-applying it",
    expects: 'MIGRATION_FAILED',
  },
  'ready-503': {
    does: "makes the session store's table (smoke.sessionTable) refuse every write once the app runs, so /health/ready's session-store probe fails",
    expects: 'READY_NOT_OK',
  },
  'login-failure': {
    does: "makes the session store's table (smoke.sessionTable) refuse inserts and updates after readiness passed, so admin login cannot write its session",
    expects: 'AUTH_WRITE_FAILED',
  },
  'search-failure': {
    does: 'renames the table behind the account search (smoke.accountSearchTable) away before the search',
    expects: 'SMOKE_FAILED',
  },
  'day-read-failure': {
    does: 'renames the table behind the day-state read (smoke.dayStateTable) away before the read',
    expects: 'SMOKE_FAILED',
  },
  'integrity-orphan': {
    does: 'points one row of a critical table at a parent that does not exist, through a foreign key found in the catalog (constraints bypassed)',
    expects: 'INTEGRITY_FAILED',
  },
  'integrity-future-row': {
    does: 'dates one row of a critical table a day after the restore target (integrity.timestampColumn)',
    expects: 'INTEGRITY_FAILED',
  },
  'rpo-breach': {
    does: 'restores to a point older than asked by more than the RPO target (lost WAL)',
    expects: 'RPO_BREACHED',
  },
  'rto-breach': { does: 'the app boots slower than the RTO target allows', expects: 'RTO_BREACHED' },
  'evaluate-down': {
    does: 'stops the app before the recovery-evaluate call (the drill still passes, with a warning)',
    expects: null,
  },
  'cleanup-failure': {
    does: 'the drill instance cannot be deleted (`recovery-drill local cleanup` removes it afterwards)',
    expects: 'CLEANUP_FAILED',
  },
} as const satisfies Record<string, FaultSpec>;

export type FaultName = keyof typeof FAULTS;

export function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(FAULTS, name);
}

/** A fault that cannot apply to the configured app: the CLI exits 2 and nothing is started. */
export class FaultRefusedError extends InputError {
  constructor(fault: FaultName, needs: string) {
    super('--inject', fault, `a fault that can apply to the configured app: ${fault} needs ${needs}`);
    this.name = 'FaultRefusedError';
  }
}

/** The part a fault breaks is not there when its moment comes: the drill runs without the fault. */
export class FaultMissedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultMissedError';
  }
}

/** Faults that act on the app the drill starts against the restored database. */
const NEEDS_LOCAL_APP: ReadonlySet<FaultName> = new Set([
  'ready-503',
  'login-failure',
  'search-failure',
  'day-read-failure',
  'rto-breach',
  'evaluate-down',
]);

/** Faults that change the restored database, and the step right before which they do. */
const DATABASE_FAULTS = {
  'migration-failure': 'detectDrift',
  'ready-503': 'smokeReady',
  'login-failure': 'smokeLogin',
  'search-failure': 'smokeSearch',
  'day-read-failure': 'smokeDay',
  'integrity-orphan': 'integrity',
  'integrity-future-row': 'integrity',
} as const satisfies Partial<Record<FaultName, DrillTaskStep>>;
type DatabaseFault = keyof typeof DATABASE_FAULTS;

/** The step after the one a session fault is meant for: where it is checked that it took hold. */
const SESSION_FAULT_VERIFIED_AT = {
  'ready-503': 'smokeLogin',
  'login-failure': 'smokeSearch',
} as const satisfies Partial<Record<DatabaseFault, DrillTaskStep>>;

function isDatabaseFault(fault: FaultName): fault is DatabaseFault {
  return Object.hasOwn(DATABASE_FAULTS, fault);
}

/** What a fault needs from the configuration alone; null when it can apply. Checked before anything starts. */
export function faultConfigProblem(fault: FaultName, config: Config): string | null {
  if (NEEDS_LOCAL_APP.has(fault) && config.app.stagingBaseUrl !== null)
    return (
      `the app the drill starts on the restored database, but app.stagingBaseUrl is set ` +
      `(${JSON.stringify(config.app.stagingBaseUrl)}): a staging app does not run on the drill database`
    );
  return null;
}

// ---- the catalog -------------------------------------------------------------------------------

const ident = (name: string) => pg.escapeIdentifier(name);

interface Relation {
  /** Schema-qualified and quoted, for SQL. */
  readonly sql: string;
  readonly schema: string;
  readonly name: string;
  /** `r` table, `p` partitioned table, `v` view, ... */
  readonly kind: string;
}

/** The relation an unqualified name means to the app (its search path: `public`), or null. */
async function findRelation(client: pg.ClientBase, name: string): Promise<Relation | null> {
  const row = (
    await client.query<{ schema: string; name: string; kind: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1)`,
      [ident(name)],
    )
  ).rows[0];
  return row ? { ...row, sql: `${ident(row.schema)}.${ident(row.name)}` } : null;
}

const isTable = (relation: Relation | null) => relation?.kind === 'r' || relation?.kind === 'p';

function tableName(field: string, name: string): string {
  return `table "${name}" (${field})`;
}

/** A foreign key of a critical table that a fault can point at a missing parent. */
export interface OrphanTarget {
  readonly constraint: string;
  readonly child: string;
  readonly column: string;
  readonly parent: string;
  readonly parentColumn: string;
  readonly kind: 'text' | 'integer' | 'uuid';
  /** Longest text the column holds (varchar(n)), or null. */
  readonly maxLength: number | null;
}

/**
 * The single-column foreign keys from a critical table with a text, integer or uuid key, those
 * between two critical tables first (then in the order of integrity.criticalTables), and the first
 * with a row that uses it.
 */
export async function findOrphanTarget(client: pg.ClientBase, config: Config): Promise<OrphanTarget | null> {
  const tables = config.integrity.criticalTables;
  const rows = (
    await client.query<{
      constraint: string;
      child: string;
      column: string;
      parent: string;
      parentColumn: string;
      type: string;
      category: string;
      typmod: number;
    }>(
      `SELECT c.conname AS constraint, child.relname AS child, a.attname AS column,
              parent.relname AS parent, pa.attname AS "parentColumn",
              t.typname AS type, t.typcategory::text AS category, a.atttypmod AS typmod
         FROM pg_constraint c
         JOIN pg_class child ON child.oid = c.conrelid
         JOIN pg_namespace ns ON ns.oid = child.relnamespace
         JOIN pg_class parent ON parent.oid = c.confrelid
         JOIN pg_namespace pns ON pns.oid = parent.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
         JOIN pg_type t ON t.oid = a.atttypid
        WHERE c.contype = 'f' AND ns.nspname = 'public' AND pns.nspname = 'public'
          AND cardinality(c.conkey) = 1 AND child.relname = ANY($1)
        ORDER BY c.conname`,
      [tables],
    )
  ).rows;
  const candidates = rows
    .map((row) => {
      const kind =
        row.category === 'S'
          ? ('text' as const)
          : ['int2', 'int4', 'int8', 'numeric'].includes(row.type)
            ? ('integer' as const)
            : row.type === 'uuid'
              ? ('uuid' as const)
              : null;
      return kind === null
        ? null
        : {
            constraint: row.constraint,
            child: row.child,
            column: row.column,
            parent: row.parent,
            parentColumn: row.parentColumn,
            kind,
            maxLength: row.category === 'S' && row.typmod > 4 ? row.typmod - 4 : null,
          };
    })
    .filter((t): t is OrphanTarget => t !== null)
    .sort(
      (a, b) =>
        Number(!tables.includes(a.parent)) - Number(!tables.includes(b.parent)) ||
        tables.indexOf(a.child) - tables.indexOf(b.child),
    );
  for (const target of candidates) {
    const used = await client.query(
      `SELECT 1 FROM public.${ident(target.child)} WHERE ${ident(target.column)} IS NOT NULL LIMIT 1`,
    );
    if (used.rowCount === 1) return target;
  }
  return null;
}

/** The first critical table whose integrity.timestampColumn is a date or time and holds a value. */
export async function findFutureRowTarget(
  client: pg.ClientBase,
  config: Config,
): Promise<{ table: string; column: string } | null> {
  const column = config.integrity.timestampColumn;
  const found = new Set(
    (
      await client.query<{ table: string }>(
        `SELECT c.relname AS table
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relname = ANY($1) AND a.attname = $2 AND NOT a.attisdropped
            AND a.atttypid IN ('timestamp'::regtype, 'timestamptz'::regtype, 'date'::regtype)`,
        [config.integrity.criticalTables, column],
      )
    ).rows.map((r) => r.table),
  );
  for (const table of config.integrity.criticalTables) {
    if (!found.has(table)) continue;
    const used = await client.query(
      `SELECT 1 FROM public.${ident(table)} WHERE ${ident(column)} IS NOT NULL LIMIT 1`,
    );
    if (used.rowCount === 1) return { table, column };
  }
  return null;
}

/** The newest applied (finished, not rolled back) migration Prisma recorded, or null. */
async function newestMigration(client: pg.ClientBase): Promise<string | null> {
  const present = await findRelation(client, '_prisma_migrations');
  if (!isTable(present)) return null;
  const row = (
    await client.query<{ name: string }>(
      `SELECT migration_name AS name FROM "_prisma_migrations"
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
        ORDER BY migration_name DESC LIMIT 1`,
    )
  ).rows[0];
  return row?.name ?? null;
}

/**
 * What a fault needs from the source's database (the one every drill restores), or null when it can
 * apply. The session store's table may be missing: the app creates it at start.
 */
export async function faultCatalogProblem(
  fault: FaultName,
  client: pg.ClientBase,
  config: Config,
): Promise<string | null> {
  const smoke = config.smoke;
  const integrity = config.integrity;
  switch (fault) {
    case 'ready-503':
    case 'login-failure': {
      const relation = await findRelation(client, smoke.sessionTable);
      if (relation && !isTable(relation))
        return `the session store's table, smoke.sessionTable = "${smoke.sessionTable}", to be a table; in the source's database it is a ${relation.kind === 'v' ? 'view' : `relation of kind ${relation.kind}`}`;
      return null;
    }
    case 'search-failure':
    case 'day-read-failure': {
      const [field, name] =
        fault === 'search-failure'
          ? ['smoke.accountSearchTable', smoke.accountSearchTable]
          : ['smoke.dayStateTable', smoke.dayStateTable];
      if (isTable(await findRelation(client, name))) return null;
      return `the table behind the ${fault === 'search-failure' ? 'account search' : 'day-state read'}, ${field} = "${name}", which the source's database does not have: set ${field} to the table your app reads there`;
    }
    case 'integrity-orphan':
      if (await findOrphanTarget(client, config)) return null;
      return (
        `a single-column foreign key (text, integer or uuid) from a critical table (integrity.criticalTables = ${JSON.stringify(integrity.criticalTables)}) ` +
        "with a row that uses it; the source's database has none"
      );
    case 'integrity-future-row':
      if (await findFutureRowTarget(client, config)) return null;
      return (
        `a critical table (integrity.criticalTables = ${JSON.stringify(integrity.criticalTables)}) with a date or time column ` +
        `integrity.timestampColumn = "${integrity.timestampColumn}" holding a value; the source's database has none`
      );
    case 'migration-failure':
      if (await newestMigration(client)) return null;
      return "Prisma's migration records (_prisma_migrations with an applied migration) in the source's database";
    default:
      return null;
  }
}

// ---- breaking the restored database ----------------------------------------------------------

/** The trigger (and its function) that refuse writes to the session store's table. */
export const REFUSE_TRIGGER = 'recovery_drill_fault';
const REFUSE_FUNCTION = 'public.recovery_drill_fault_refuse';
/** The event trigger (and its function) that refuse schema changes. */
export const DDL_TRIGGER = 'recovery_drill_fault_ddl';
const DDL_FUNCTION = 'public.recovery_drill_fault_refuse_ddl';

/** The event trigger (and its function) that put the refusing trigger on the session table once the app creates it. */
export const ATTACH_TRIGGER = 'recovery_drill_fault_attach';
const ATTACH_FUNCTION = 'public.recovery_drill_fault_attach';

/**
 * Makes the session store's table refuse writes: at once if it exists, else the moment the app
 * creates it (connect-pg-simple creates its table on the first session it stores, which for
 * BT-CTS is the first readiness probe), through an event trigger on CREATE TABLE.
 */
async function refuseSessionWrites(
  client: pg.ClientBase,
  fault: 'ready-503' | 'login-failure',
  name: string,
): Promise<string> {
  const events = fault === 'ready-503' ? 'INSERT OR UPDATE OR DELETE' : 'INSERT OR UPDATE';
  const what = `trigger ${REFUSE_TRIGGER} on ${tableName('smoke.sessionTable', name)} refuses ${events.replaceAll(' OR ', ', ')}: the session store takes no ${fault === 'ready-503' ? 'writes' : 'new or updated sessions'}`;
  await client.query(
    `CREATE OR REPLACE FUNCTION ${REFUSE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$
     BEGIN
       RAISE EXCEPTION 'recovery-drill --inject %: % on "%" refused', TG_ARGV[0], TG_OP, TG_TABLE_NAME
         USING ERRCODE = 'insufficient_privilege';
     END $fn$`,
  );
  const table = await findRelation(client, name);
  if (table) {
    if (!isTable(table))
      throw new FaultMissedError(`${tableName('smoke.sessionTable', name)} is not a table`);
    await client.query(
      `CREATE TRIGGER ${REFUSE_TRIGGER} BEFORE ${events} ON ${table.sql}
         FOR EACH ROW EXECUTE FUNCTION ${REFUSE_FUNCTION}('${fault}')`,
    );
    return what;
  }
  // The name is resolved as the app's own CREATE TABLE resolves it (its search path).
  await client.query(
    `CREATE OR REPLACE FUNCTION ${ATTACH_FUNCTION}() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
     DECLARE created record;
     BEGIN
       FOR created IN SELECT object_identity FROM pg_event_trigger_ddl_commands()
                       WHERE command_tag = 'CREATE TABLE' AND objid = to_regclass(${pg.escapeLiteral(ident(name))}) LOOP
         EXECUTE format('CREATE TRIGGER ${REFUSE_TRIGGER} BEFORE ${events} ON %s FOR EACH ROW EXECUTE FUNCTION ${REFUSE_FUNCTION}(%L)',
                        created.object_identity, ${pg.escapeLiteral(fault)});
       END LOOP;
     END $fn$`,
  );
  await client.query(
    `CREATE EVENT TRIGGER ${ATTACH_TRIGGER} ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
       EXECUTE FUNCTION ${ATTACH_FUNCTION}()`,
  );
  return `${what} (event trigger ${ATTACH_TRIGGER} puts it there the moment the app creates the table)`;
}

/**
 * After the step the fault was meant for passed: the session fault took hold, or why it did not
 * (the app never created the table while it ran). Null when it is in place.
 */
export async function sessionFaultProblem(client: pg.ClientBase, config: Config): Promise<string | null> {
  const name = config.smoke.sessionTable;
  const relation = await findRelation(client, name);
  if (!relation)
    return (
      `${tableName('smoke.sessionTable', name)} never appeared in the restored database while the app ran: ` +
      'the app keeps its sessions elsewhere, or smoke.sessionTable names the wrong table'
    );
  const trigger = await client.query(
    `SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)`,
    [REFUSE_TRIGGER, ident(name)],
  );
  return trigger.rowCount === 1
    ? null
    : `trigger ${REFUSE_TRIGGER} is not on ${tableName('smoke.sessionTable', name)}`;
}

async function renameAway(client: pg.ClientBase, field: string, name: string): Promise<string> {
  const relation = await findRelation(client, name);
  if (!isTable(relation))
    throw new FaultMissedError(`${tableName(field, name)} is not in the restored database`);
  const renamed = `${name.slice(0, 40)}_recovery_drill_fault`;
  await client.query(`ALTER TABLE ${(relation as Relation).sql} RENAME TO ${ident(renamed)}`);
  return `${tableName(field, name)} renamed to "${renamed}"`;
}

/**
 * Breaks the restored database for a fault (on a superuser connection to it).
 * @returns what was broken, named for the report.
 * @throws FaultMissedError when the part to break is not there.
 */
export async function applyDatabaseFault(
  fault: DatabaseFault,
  client: pg.ClientBase,
  config: Config,
): Promise<string> {
  const smoke = config.smoke;
  switch (fault) {
    case 'ready-503':
    case 'login-failure':
      return refuseSessionWrites(client, fault, smoke.sessionTable);
    case 'search-failure':
      return renameAway(client, 'smoke.accountSearchTable', smoke.accountSearchTable);
    case 'day-read-failure':
      return renameAway(client, 'smoke.dayStateTable', smoke.dayStateTable);
    case 'integrity-orphan': {
      const target = await findOrphanTarget(client, config);
      if (!target) throw new FaultMissedError('no critical table has a foreign key with a row that uses it');
      const text = `orphan-${randomBytes(6).toString('hex')}`;
      const value =
        target.kind === 'text'
          ? `'${target.maxLength === null ? text : text.slice(0, Math.max(1, target.maxLength))}'`
          : target.kind === 'uuid'
            ? 'gen_random_uuid()'
            : `(SELECT coalesce(min(${ident(target.parentColumn)}), 0) - 1 FROM public.${ident(target.parent)})`;
      const set = await setOneRow(client, target.child, target.column, value);
      return (
        `one "${target.child}" row's "${target.column}" set to ${JSON.stringify(set)}, which no "${target.parent}"."${target.parentColumn}" holds ` +
        `(foreign key ${target.constraint} bypassed with session_replication_role = replica)`
      );
    }
    case 'integrity-future-row': {
      const target = await findFutureRowTarget(client, config);
      if (!target) throw new FaultMissedError('no critical table holds a value in integrity.timestampColumn');
      const set = await setOneRow(client, target.table, target.column, "now() + interval '1 day'");
      return `one "${target.table}" row's "${target.column}" (integrity.timestampColumn) set to ${set} UTC, a day after the restore target`;
    }
    case 'migration-failure': {
      const name = await newestMigration(client);
      if (!name)
        throw new FaultMissedError('the restored database has no applied migration in _prisma_migrations');
      await client.query('DELETE FROM "_prisma_migrations" WHERE migration_name = $1', [name]);
      // Any schema change but Prisma's own bookkeeping fails: the migration cannot apply again,
      // even one written to be re-runnable.
      await client.query(
        `CREATE OR REPLACE FUNCTION ${DDL_FUNCTION}() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
         BEGIN
           IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
                       WHERE c.object_identity IS NULL OR c.object_identity NOT LIKE '%_prisma_migrations%') THEN
             RAISE EXCEPTION 'recovery-drill --inject migration-failure: schema change refused (%)', TG_TAG
               USING ERRCODE = 'insufficient_privilege';
           END IF;
         END $fn$`,
      );
      await client.query(
        `CREATE EVENT TRIGGER ${DDL_TRIGGER} ON ddl_command_end EXECUTE FUNCTION ${DDL_FUNCTION}()`,
      );
      return (
        `the record of migration ${name} erased from _prisma_migrations, and event trigger ${DDL_TRIGGER} ` +
        'makes the restored database refuse schema changes'
      );
    }
  }
}

// ---- the plan ----------------------------------------------------------------------------------

export interface FaultContext {
  readonly config: Config;
  /** The source's application database (holds the password: never logged): where the catalog is checked. */
  readonly sourceUrl: string | null;
  /** One line when the fault acts. */
  readonly progress?: (line: string) => void;
}

/** What the local engine must change to run with a fault. */
export interface FaultPlan {
  /** The recovery port to use (possibly wrapped). */
  readonly recovery: DatabaseRecoveryPort;
  /** Runs before each step. */
  readonly beforeStep: (step: string, state: Readonly<Record<string, unknown>>) => Promise<void>;
  /** What the fault broke, named for the report, once it has acted; null before. */
  acted(): string | null;
  /** Why the fault could not act when its moment came (the drill then ran without it); null otherwise. */
  missed(): string | null;
}

async function onDrillDatabase<T>(
  deps: DrillDeps,
  state: DrillState,
  action: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const secretRef = state.connection?.secretRef;
  if (!secretRef) throw new FaultMissedError('there is no drill database yet');
  const client = new pg.Client({ connectionString: await deps.secrets.connectionUrl(secretRef) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Sets `column` of one row of `table` (one whose value is not null) to the SQL expression `value`,
 * in one transaction, in replica mode (no foreign-key or other triggers: written as a broken restore
 * would leave it) and in UTC (as the integrity check reads times). Returns the value set, as text.
 */
async function setOneRow(
  client: pg.ClientBase,
  table: string,
  column: string,
  value: string,
): Promise<string | undefined> {
  const relation = `public.${ident(table)}`;
  const col = ident(column);
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL TIME ZONE 'UTC'");
    await client.query('SET LOCAL session_replication_role = replica');
    const set = (
      await client.query<{ value: string }>(
        `UPDATE ${relation} SET ${col} = ${value}
          WHERE ctid = (SELECT ctid FROM ${relation} WHERE ${col} IS NOT NULL LIMIT 1)
          RETURNING ${col}::text AS value`,
      )
    ).rows[0]?.value;
    await client.query('COMMIT');
    return set;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Checks that a fault can apply (the configuration, then the source's catalog) and prepares it.
 * `deps` is the drill's dependencies, read lazily (the plan is made before they exist).
 * @throws FaultRefusedError when the fault cannot apply to the configured app.
 */
export async function planFault(
  fault: FaultName | null,
  recovery: DatabaseRecoveryPort,
  context: FaultContext,
  deps: () => DrillDeps,
): Promise<FaultPlan> {
  let acted: string | null = null;
  let missed: string | null = null;
  const act = (detail: string) => {
    if (acted === null) context.progress?.(`fault ${fault}: ${detail}`);
    acted = detail;
  };
  const plan: { recovery: DatabaseRecoveryPort; beforeStep: FaultPlan['beforeStep'] } = {
    recovery,
    beforeStep: async () => undefined,
  };
  const result = (): FaultPlan => ({ ...plan, acted: () => acted, missed: () => missed });
  if (fault === null) return result();

  const configProblem = faultConfigProblem(fault, context.config);
  if (configProblem) throw new FaultRefusedError(fault, configProblem);
  if (context.sourceUrl) {
    const client = new pg.Client({ connectionString: context.sourceUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const problem = await faultCatalogProblem(fault, client, context.config);
      if (problem) throw new FaultRefusedError(fault, problem);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  if (fault === 'rpo-breach') {
    // Restoring further back than the RPO target needs a window that reaches that far back.
    const rpoMinutes = context.config.targets.rpoMinutes;
    const window = await recovery.restorableWindow();
    const spanMs = window.earliest && window.latest ? window.latest.getTime() - window.earliest.getTime() : 0;
    if (spanMs <= rpoMinutes * 60_000 + 5_000)
      throw new FaultRefusedError(
        fault,
        `a restorable window longer than targets.rpoMinutes (${rpoMinutes} min) plus 5 s, to restore that far back; the source's window is ${(spanMs / 60_000).toFixed(1)} min${window.earliest ? ` (from ${window.earliest.toISOString()})` : ''}: let the source run longer, or drill with a smaller targets.rpoMinutes`,
      );
  }

  const atStep = (wanted: string, action: (state: DrillState) => Promise<void>) => {
    plan.beforeStep = async (step, state) => {
      if (step === wanted && acted === null && missed === null) await action(state as DrillState);
    };
  };
  const wrap = (overrides: Partial<DatabaseRecoveryPort>) =>
    Object.assign(Object.create(recovery) as DatabaseRecoveryPort, overrides);

  if (isDatabaseFault(fault)) {
    const miss = (why: string) => {
      missed = why;
      context.progress?.(`fault ${fault} could not be applied: ${why}`);
    };
    const actAt = DATABASE_FAULTS[fault];
    // A session fault set up before its table exists takes hold when the app creates the table:
    // the step after the one it was meant for checks that it did.
    const verifyAt = (SESSION_FAULT_VERIFIED_AT as Partial<Record<DatabaseFault, DrillTaskStep>>)[fault];
    plan.beforeStep = async (step, state) => {
      if (missed !== null) return;
      try {
        if (step === actAt && acted === null)
          act(
            await onDrillDatabase(deps(), state as DrillState, (client) =>
              applyDatabaseFault(fault, client, context.config),
            ),
          );
        else if (step === verifyAt && acted !== null) {
          const problem = await onDrillDatabase(deps(), state as DrillState, (client) =>
            sessionFaultProblem(client, context.config),
          );
          if (problem) miss(problem);
        }
      } catch (error) {
        // The drill goes on without the fault: a step failing here would look like the fault's class.
        miss((error as Error).message);
      }
    };
    return result();
  }
  switch (fault) {
    case 'restore-failure':
      plan.recovery = wrap({
        restoreToPointInTime: (request) => {
          const past = new Date(Date.now() + 3_600_000);
          act(`the restore asked for ${past.toISOString()}, an hour past the newest archived WAL`);
          return recovery.restoreToPointInTime({ ...request, targetTime: past });
        },
      });
      break;
    case 'restore-timeout':
      plan.recovery = wrap({
        describeInstance: async (id) => {
          const real = await recovery.describeInstance(id);
          if (real?.status !== 'available') return real;
          act(`${id} is available but reported as "creating"`);
          return { ...real, status: 'creating' as const, endpoint: null };
        },
      });
      break;
    case 'rpo-breach':
      plan.recovery = wrap({
        restoreToPointInTime: async (request) => {
          const rpoMs = deps().settings.config.targets.rpoMinutes * 60_000;
          const window = await recovery.restorableWindow();
          const asked = request.targetTime === 'latest' ? (window.latest ?? new Date()) : request.targetTime;
          const wanted = asked.getTime() - rpoMs - 5_000;
          const earlier = new Date(Math.max(wanted, window.earliest?.getTime() ?? 0));
          if (earlier.getTime() > wanted)
            missed = `the restorable window begins at ${earlier.toISOString()}, less than targets.rpoMinutes before the target ${asked.toISOString()}`;
          act(`the restore target moved from ${asked.toISOString()} back to ${earlier.toISOString()}`);
          return recovery.restoreToPointInTime({ ...request, targetTime: earlier });
        },
      });
      break;
    case 'rto-breach':
      atStep('startApp', async () => {
        const ms = deps().settings.config.targets.rtoMinutes * 60_000 + 2_000;
        act(`the app's start delayed by ${Math.round(ms / 1000)} s (targets.rtoMinutes + 2 s)`);
        await sleep(ms);
      });
      break;
    case 'evaluate-down':
      atStep('evaluate', async (state) => {
        if (!state.drill) return;
        const stopped = await deps().app.stopAll(state.drill.drillId);
        act(
          `stopped ${stopped.length > 0 ? stopped.join(', ') : 'the app'} before the recovery-evaluate call`,
        );
      });
      break;
    case 'cleanup-failure':
      plan.recovery = wrap({
        deleteInstance: async (id) => {
          act(`deleting ${id} refused: the instance is left running`);
          throw new Error(`could not delete ${id} (injected fault: the instance is left running)`);
        },
      });
      break;
  }
  return result();
}
