/**
 * The heartbeat over a real connection, for every side: the writer (the AWS heartbeat function,
 * the local writer process) inserts one beat and trims old ones; the reader (the drill, on a
 * restored copy) finds the newest beat at or before T. The SQL is `core/heartbeat.ts`'s.
 *
 * Errors name the operation and the table, never the connection: a connection string or a client
 * configuration holds a password, and nothing here logs or quotes either.
 */
import pg from 'pg';
import { heartbeatQueries, heartbeatTableName, heartbeatTableSql } from '../core/heartbeat.ts';
import { redactCredentials } from '../core/redact.ts';

/**
 * Where to connect: a connection string, a `pg` client configuration (a new connection, closed
 * afterwards), or a connected client the caller owns (used as is and left open).
 */
export type HeartbeatTarget = string | pg.ClientConfig | pg.ClientBase;

/** What went wrong, as `<operation> <table>: <driver message>`, with any credential redacted. */
export class HeartbeatError extends Error {
  readonly operation: 'connect' | 'write' | 'read' | 'setup';

  constructor(operation: HeartbeatError['operation'], message: string, options?: ErrorOptions) {
    super(redactCredentials(message), options);
    this.name = 'HeartbeatError';
    this.operation = operation;
  }
}

function isClient(target: HeartbeatTarget): target is pg.ClientBase {
  return (
    typeof target === 'object' && target !== null && typeof (target as pg.ClientBase).query === 'function'
  );
}

function driverMessage(error: unknown): string {
  const e = error as { message?: string; code?: string };
  const text = e?.message || String(error);
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

/** Runs `work` on the target's client: a new connection is opened and always closed again. */
async function withClient<T>(
  target: HeartbeatTarget,
  table: string,
  work: (client: pg.ClientBase) => Promise<T>,
): Promise<T> {
  if (isClient(target)) return work(target);
  const client = new pg.Client(typeof target === 'string' ? { connectionString: target } : target);
  // A connection dropped by the server must reject the query in flight, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new HeartbeatError(
      'connect',
      `could not connect to write or read ${table}: ${driverMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface WriteHeartbeatOptions {
  /** `heartbeat.schema`. */
  readonly schema: string;
  /** `heartbeat.retentionDays`: beats older than this (before the new beat) are deleted. */
  readonly retentionDays: number;
  /** The beat's time; default the database server's `now()` (the clock the restore points use). */
  readonly now?: Date;
}

/** One beat written. */
export interface HeartbeatWrite {
  /** The beat's time (the server's clock unless `now` was given). */
  readonly at: Date;
  /** Beats deleted by the trim. */
  readonly trimmed: number;
}

/**
 * Inserts one beat and trims beats older than `retentionDays`, in one transaction. Needs only
 * what the heartbeat role holds (INSERT, DELETE, SELECT on `at`): never creates the table.
 * @throws HeartbeatError naming the table (a missing table, a missing grant, no connection).
 */
export async function writeHeartbeat(
  target: HeartbeatTarget,
  options: WriteHeartbeatOptions,
): Promise<HeartbeatWrite> {
  const table = heartbeatTableName(options.schema);
  const queries = heartbeatQueries(options.schema);
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1 || options.retentionDays > 365)
    throw new HeartbeatError(
      'write',
      `retentionDays: expected an integer from 1 to 365; got ${options.retentionDays}`,
    );
  if (options.now !== undefined && Number.isNaN(options.now.getTime()))
    throw new HeartbeatError('write', 'now: expected a valid Date; got an invalid one');
  return withClient(target, table, async (client) => {
    try {
      await client.query('BEGIN');
      const inserted = await client.query<{ at: Date }>(queries.insert, [options.now ?? null]);
      // No row back: a beat of exactly that time exists already (only possible with `now` given).
      const at = inserted.rows[0]?.at ?? (options.now as Date);
      const trimmed = await client.query(queries.trim, [at, options.retentionDays]);
      await client.query('COMMIT');
      return { at, trimmed: trimmed.rowCount ?? 0 };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new HeartbeatError(
        'write',
        `could not write a heartbeat into ${table}: ${driverMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  });
}

/** What a restored copy holds of the heartbeat. */
export interface HeartbeatReading {
  /** The table exists: the heartbeat was set up before the restore point. */
  readonly configured: boolean;
  /** The newest beat at or before `notAfter`, or null when there is none (or no table). */
  readonly newest: Date | null;
  /** Beats at or before `notAfter`. */
  readonly count: number;
}

export interface NewestHeartbeatOptions {
  /** `heartbeat.schema`. */
  readonly schema: string;
  /** T: beats after it are not evidence for this restore (the copy may hold the drill's own later writes). */
  readonly notAfter: Date;
}

/**
 * Reads the newest beat at or before `notAfter` (T): a lower bound of the copy's restore point.
 * A missing table is `configured: false`, not an error.
 * @throws HeartbeatError naming the table (no connection, no privilege).
 */
export async function newestHeartbeat(
  target: HeartbeatTarget,
  options: NewestHeartbeatOptions,
): Promise<HeartbeatReading> {
  const table = heartbeatTableName(options.schema);
  const queries = heartbeatQueries(options.schema);
  if (!(options.notAfter instanceof Date) || Number.isNaN(options.notAfter.getTime()))
    throw new HeartbeatError('read', 'notAfter: expected a valid Date (T)');
  return withClient(target, table, async (client) => {
    try {
      const exists = await client.query<{ present: boolean }>(queries.exists);
      if (!exists.rows[0]?.present) return { configured: false, newest: null, count: 0 };
      const result = await client.query<{ newest: Date | null; count: number }>(queries.newest, [
        options.notAfter,
      ]);
      const row = result.rows[0];
      return { configured: true, newest: row?.newest ?? null, count: row?.count ?? 0 };
    } catch (error) {
      throw new HeartbeatError(
        'read',
        `could not read the heartbeat from ${table}: ${driverMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  });
}

/**
 * Creates the schema and the table if missing (no role, no grants): for a writer that connects
 * as the owner, as the local engine's does. Idempotent.
 * @throws HeartbeatError naming the table.
 */
export async function ensureHeartbeatTable(
  target: HeartbeatTarget,
  options: { schema: string },
): Promise<void> {
  const table = heartbeatTableName(options.schema);
  const sql = heartbeatTableSql(options.schema);
  await withClient(target, table, async (client) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(sql);
        return;
      } catch (error) {
        // Two writers creating it at once: the loser sees a unique violation; once more finds it made.
        if ((error as { code?: string }).code === '23505' && attempt < 3) continue;
        throw new HeartbeatError('setup', `could not create ${table}: ${driverMessage(error)}`, {
          cause: error,
        });
      }
    }
  });
}
