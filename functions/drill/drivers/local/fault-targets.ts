/**
 * What a fault breaks, found in the database catalog (foreign keys, column types, Prisma's migration
 * records) through the configuration, never through an app's table names; and what a fault needs
 * from the source's database before the drill starts.
 */
import pg from 'pg';
import type { Config } from '../../../core/config.ts';
import type { FaultName } from './faults.ts';

/** A name quoted for SQL. */
export const ident = (name: string) => pg.escapeIdentifier(name);

export interface Relation {
  /** Schema-qualified and quoted, for SQL. */
  readonly sql: string;
  readonly schema: string;
  readonly name: string;
  /** `r` table, `p` partitioned table, `v` view, ... */
  readonly kind: string;
}

/** The relation an unqualified name means to the app (its search path: `public`), or null. */
export async function findRelation(client: pg.ClientBase, name: string): Promise<Relation | null> {
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

/** A table (plain or partitioned), not a view. */
export const isTable = (relation: Relation | null) => relation?.kind === 'r' || relation?.kind === 'p';

/** How a message names a configured table. */
export function tableName(field: string, name: string): string {
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
export async function newestMigration(client: pg.ClientBase): Promise<string | null> {
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
