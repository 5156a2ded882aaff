import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrateDeploy } from '../../../examples/bt-cts/apps/api/src/migrate.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import { APP_DIR, createDatabase, query } from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;
let cluster: Cluster;

interface PrismaSchema {
  /** model name -> scalar field names (relation fields left out: they have no column). */
  readonly models: Map<string, string[]>;
  /** enum name -> values. */
  readonly enums: Map<string, string[]>;
}

/** Just enough of the Prisma schema language to compare models and enums with the database. */
function parsePrismaSchema(text: string): PrismaSchema {
  const blocks = [...text.matchAll(/^(model|enum)\s+(\w+)\s*\{([^}]*)\}/gm)];
  const modelNames = new Set(blocks.filter((b) => b[1] === 'model').map((b) => b[2]));
  const models = new Map<string, string[]>();
  const enums = new Map<string, string[]>();
  for (const [, kind, name, body] of blocks) {
    if (!name || body === undefined) continue;
    const lines = body
      .split('\n')
      .map((l) => l.replace(/\/\/.*$/, '').trim())
      .filter((l) => l !== '' && !l.startsWith('@@'));
    if (kind === 'enum') {
      enums.set(name, lines);
      continue;
    }
    const fields = lines.flatMap((line) => {
      const [field, type] = line.split(/\s+/);
      const base = type?.replace(/[?[\]]/g, '') ?? '';
      return field && !modelNames.has(base) ? [field] : [];
    });
    models.set(name, fields.sort());
  }
  return { models, enums };
}

beforeAll(async () => {
  cluster = await createTemporaryCluster();
});

afterAll(async () => {
  await cluster?.destroy();
  if (cluster) expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
});

describe('prisma schema', () => {
  it('describes exactly the tables, columns and enums the migrations create', async () => {
    const schema = parsePrismaSchema(await readFile(join(APP_DIR, 'apps/api/prisma/schema.prisma'), 'utf8'));
    expect([...schema.models.keys()].sort()).toEqual([
      'Account',
      'AuditLog',
      'Branch',
      'DayCycle',
      'Transaction',
      'User',
    ]);
    expect(schema.enums.get('DayState')).toEqual(['CLOSED', 'LOADING', 'OPEN', 'CLOSING', 'RECONCILING']);
    expect(schema.enums.get('UserRole')).toEqual(['NONE', 'ADMIN', 'BRANCH_MANAGER', 'TELLER']);

    const url = await createDatabase(cluster);
    await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
    const columns = await query<{ table_name: string; column_name: string }>(
      url,
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const tables = new Map<string, string[]>();
    for (const c of columns) tables.set(c.table_name, [...(tables.get(c.table_name) ?? []), c.column_name]);
    for (const list of tables.values()) list.sort();
    expect(tables).toEqual(schema.models);

    const enumRows = await query<{ name: string; values: string[] }>(
      url,
      `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
    );
    expect(new Map(enumRows.map((e) => [e.name, e.values]))).toEqual(schema.enums);
  });

  it('stores times as Prisma does (timestamp(3) without zone), money as decimal(15,2), ids as text without a default', async () => {
    const url = await createDatabase(cluster);
    await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
    const times = await query<{ type: string; n: string }>(
      url,
      `SELECT data_type || '(' || datetime_precision || ')' AS type, count(*) AS n FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' AND data_type LIKE 'timestamp%' GROUP BY 1`,
    );
    expect(times.map((t) => t.type)).toEqual(['timestamp without time zone(3)']);
    const money = await query<{ column: string; type: string }>(
      url,
      `SELECT table_name || '.' || column_name AS column, data_type || '(' || numeric_precision || ',' || numeric_scale || ')' AS type
         FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'numeric' ORDER BY 1`,
    );
    expect(money.map((m) => m.column)).toEqual(
      expect.arrayContaining(['Account.currentBalance', 'Account.openingBalance', 'Transaction.amount']),
    );
    expect(new Set(money.map((m) => m.type))).toEqual(new Set(['numeric(15,2)']));
    const ids = await query<{ column: string; type: string; fallback: string | null }>(
      url,
      `SELECT table_name || '.' || column_name AS column, data_type AS type, column_default AS fallback
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' AND column_name = 'id' ORDER BY 1`,
    );
    expect(ids).toEqual(
      ['Account', 'AuditLog', 'Transaction', 'User'].map((t) => ({
        column: `${t}.id`,
        type: 'text',
        fallback: null,
      })),
    );
  });
});
