/**
 * Breaking the restored database for a fault, on a superuser connection to it: triggers that refuse
 * the session store's writes or schema changes, a table renamed away, one row set broken.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Config } from '../../../core/config.ts';
import {
  findFutureRowTarget,
  findOrphanTarget,
  findRelation,
  ident,
  isTable,
  newestMigration,
  type Relation,
  tableName,
} from './fault-targets.ts';
import { type DatabaseFault, FaultMissedError } from './faults.ts';

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
