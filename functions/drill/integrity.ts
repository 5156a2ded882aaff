/**
 * Data integrity of the critical tables after a restore (runbook escalation 4): each table is
 * present and not empty, no row references a row that is not there (every foreign key touching a
 * critical table, checked with an anti-join so that rows written with constraints bypassed are
 * found too), and no row is dated after T, the drill's own writes left out.
 *
 * No freshness rule: a quiet database is not missing data, and a recent row does not prove a
 * complete one. How far the copy reaches is the RPO's business (the engine's restore point and
 * the heartbeat, judged by the evaluate step); the newest row is only reported.
 */
import pg from 'pg';

export interface TableCheck {
  readonly table: string;
  readonly present: boolean;
  readonly empty: boolean | null;
  /** Planner estimate of the row count, for the report (exact counts cost a full scan). */
  readonly estimatedRows: number | null;
  readonly newestAt: string | null;
  readonly rowsNewerThanTarget: number;
  readonly orphans: readonly { constraint: string; references: string; rows: number }[];
}

export interface IntegrityResult {
  readonly tables: readonly TableCheck[];
  /** Newest creation time across the critical tables (informational: not evidence of loss or completeness). */
  readonly newestRowAt: string | null;
  readonly problems: readonly string[];
}

export interface IntegrityOptions {
  readonly tables: readonly string[];
  readonly timestampColumn: string;
  /**
   * Rows created after this are a restore past its target: T for a drill to a chosen time; for a
   * `latest` drill the moment the restore was requested (it holds what was committed until then,
   * T being its start a moment earlier).
   */
  readonly notAfter: Date;
  /**
   * When the drill itself began writing (its migrations, or the app's start): rows dated from then
   * until the check are the drill's own or the app's side effects of the drill's requests (a login's
   * audit row, today's day row), not restored data, and are left out of the time check. Restored
   * rows all predate it: the restore was complete before the drill wrote anything.
   */
  readonly drillWritesFrom: Date | null;
}

/** Tolerance for clock rounding between row timestamps and the drill's clock. */
const TARGET_TOLERANCE_MS = 1000;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

interface ForeignKey {
  name: string;
  child: string;
  parent: string;
  childColumns: string[];
  parentColumns: string[];
}

async function foreignKeys(client: pg.Client, tables: readonly string[]): Promise<ForeignKey[]> {
  const result = await client.query<ForeignKey>(
    `SELECT c.conname AS name, child.relname AS child, parent.relname AS parent,
            array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS "childColumns",
            array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS "parentColumns"
       FROM pg_constraint c
       JOIN pg_class child ON child.oid = c.conrelid
       JOIN pg_class parent ON parent.oid = c.confrelid
       JOIN pg_namespace ns ON ns.oid = child.relnamespace
      WHERE c.contype = 'f' AND ns.nspname = 'public'
        AND (child.relname = ANY($1) OR parent.relname = ANY($1))`,
    [tables],
  );
  return result.rows;
}

export async function checkIntegrity(
  databaseUrl: string,
  options: IntegrityOptions,
): Promise<IntegrityResult> {
  const client = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 });
  await client.connect();
  try {
    await client.query('SET default_transaction_read_only = on');
    // Row times are compared and read in UTC, whatever the server's or this process's zone.
    await client.query("SET TIME ZONE 'UTC'");
    const fks = await foreignKeys(client, options.tables);
    const problems: string[] = [];
    const tables: TableCheck[] = [];
    const column = ident(options.timestampColumn);
    const limit = new Date(options.notAfter.getTime() + TARGET_TOLERANCE_MS);
    // Rows the drill wrote itself carry times between the app's start and now; a row dated later
    // than now was not written by anyone today.
    const checkedAt = new Date();

    for (const table of options.tables) {
      const present =
        (
          await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [
            `public.${ident(table)}`,
          ])
        ).rows[0]?.oid != null;
      if (!present) {
        problems.push(`table "${table}" is missing`);
        tables.push({
          table,
          present,
          empty: null,
          estimatedRows: null,
          newestAt: null,
          rowsNewerThanTarget: 0,
          orphans: [],
        });
        continue;
      }
      const empty = !(
        await client.query<{ e: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${ident(table)}) AS e`)
      ).rows[0]?.e;
      if (empty) problems.push(`table "${table}" is empty`);
      const estimate = await client.query<{ n: number }>(
        'SELECT GREATEST(reltuples, 0)::bigint::int AS n FROM pg_class WHERE oid = to_regclass($1)',
        [`public.${ident(table)}`],
      );
      const hasTimestamp =
        (
          await client.query(
            `SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`,
            [table, options.timestampColumn],
          )
        ).rowCount === 1;
      let newestAt: string | null = null;
      let newer = 0;
      if (hasTimestamp) {
        // Two index-friendly queries (a backward scan for the newest row, a range for the newer
        // ones) rather than one aggregate over the whole table: a big AuditLog stays fast.
        const ownWrites = `NOT (${column} >= $1::timestamptz AND ${column} <= $2::timestamptz)`;
        const own = [
          options.drillWritesFrom?.toISOString() ?? checkedAt.toISOString(),
          checkedAt.toISOString(),
        ];
        const newestRow = (
          await client.query<{ newest: number | null }>(
            `SELECT extract(epoch FROM ${column} AT TIME ZONE 'UTC')::float8 * 1000 AS newest
               FROM ${ident(table)} WHERE ${column} IS NOT NULL AND ${ownWrites}
              ORDER BY ${column} DESC LIMIT 1`,
            own,
          )
        ).rows[0];
        const newerRow = (
          await client.query<{ newer: string }>(
            `SELECT count(*) AS newer FROM ${ident(table)} WHERE ${column} > $3::timestamptz AND ${ownWrites}`,
            [...own, limit.toISOString()],
          )
        ).rows[0];
        const row = { newest: newestRow?.newest ?? null, newer: newerRow?.newer ?? '0' };
        newestAt = row?.newest == null ? null : new Date(Number(row.newest)).toISOString();
        newer = Number(row?.newer ?? 0);
        if (newer > 0) {
          problems.push(
            `table "${table}" holds ${newer} row(s) created after ${options.notAfter.toISOString()}, where the restore was to stop (not written by the drill)`,
          );
        }
      }
      const orphans: { constraint: string; references: string; rows: number }[] = [];
      for (const fk of fks.filter((k) => k.child === table)) {
        const join = fk.childColumns
          .map((c, i) => `p.${ident(fk.parentColumns[i] ?? '')} = c.${ident(c)}`)
          .join(' AND ');
        const notNull = fk.childColumns.map((c) => `c.${ident(c)} IS NOT NULL`).join(' AND ');
        const count = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${ident(fk.child)} c WHERE ${notNull}
             AND NOT EXISTS (SELECT 1 FROM ${ident(fk.parent)} p WHERE ${join})`,
        );
        const rows = Number(count.rows[0]?.n ?? 0);
        if (rows > 0) {
          orphans.push({ constraint: fk.name, references: fk.parent, rows });
          problems.push(
            `table "${table}" has ${rows} row(s) whose ${fk.childColumns.join(', ')} reference a missing "${fk.parent}" row`,
          );
        }
      }
      tables.push({
        table,
        present,
        empty,
        estimatedRows: estimate.rows[0]?.n ?? null,
        newestAt,
        rowsNewerThanTarget: newer,
        orphans,
      });
    }

    const newest = tables
      .map((t) => t.newestAt)
      .filter((t): t is string => t !== null)
      .sort()
      .at(-1);
    const newestRowAt = newest ?? null;
    if (newestRowAt === null && tables.every((t) => t.present && t.empty === false)) {
      // Every table has rows, yet none carries the column: no row could be checked against T.
      problems.push(
        `no critical table has a "${options.timestampColumn}" value (integrity.timestampColumn): no row could be checked against T`,
      );
    }
    return { tables, newestRowAt, problems };
  } finally {
    await client.end();
  }
}
