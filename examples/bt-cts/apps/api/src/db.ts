/**
 * How every part of the BT-CTS stand-in talks to PostgreSQL. Prisma writes every `DateTime` as a
 * `timestamp(3)` holding UTC; raw `pg` would read those in the process's local time zone and
 * `now()` would write the server's, so sessions are pinned to UTC and timestamps parsed as UTC.
 */

import type { ClientConfig, CustomTypesConfig, PoolConfig } from 'pg';
import pg from 'pg';

const TIMESTAMP_OID = 1114;
const DATE_OID = 1082;

const utcTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP_OID && format !== 'binary')
      return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
    // A business date is a calendar day, not an instant: keep `YYYY-MM-DD`.
    if (oid === DATE_OID && format !== 'binary') return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};

/** Connection settings shared by the pool and single clients: UTC sessions, bounded waits. */
export function connectionConfig(databaseUrl: string, applicationName: string): ClientConfig {
  return {
    connectionString: databaseUrl,
    options: '-c TimeZone=UTC',
    types: utcTypes,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
  };
}

/**
 * SQL for a query parameter holding an instant (an ISO-8601 string) as the UTC wall-clock time
 * Prisma stores, whatever the session's time zone: `WHERE "loadedDate" = ${utc('$1')}`.
 */
export function utc(param: string): string {
  return `(${param}::timestamptz AT TIME ZONE 'UTC')`;
}

export function createPool(databaseUrl: string, applicationName: string, extra: PoolConfig = {}): pg.Pool {
  return new pg.Pool({ ...connectionConfig(databaseUrl, applicationName), max: 5, ...extra });
}

export function createClient(databaseUrl: string, applicationName: string): pg.Client {
  return new pg.Client(connectionConfig(databaseUrl, applicationName));
}

const CREDENTIAL_URL = /\b(postgres(?:ql)?):\/\/[^\s@/]*@/gi;

/** Removes credentials from any connection string inside a message, so nothing we print leaks them. */
export function redact(text: string): string {
  return text.replace(CREDENTIAL_URL, '$1://***@');
}

/** The message of an error, safe to log or return: no connection string, SQLSTATE appended. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const suffix = typeof code === 'string' && code.length > 0 ? ` (${code})` : '';
    return redact(`${error.message || error.name}${suffix}`);
  }
  return redact(String(error));
}

/**
 * True when the database cannot take the write right now (down, restarting, still in recovery or
 * read-only), as opposed to a bug or a bad row: the API answers 503 for these, 500 for the rest.
 */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string')
    // pg's own connection failures carry no SQLSTATE, only a message.
    return (
      error instanceof Error &&
      /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
    );
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now (starting up, in recovery)
    code === '25006' || // read_only_sql_transaction (a standby not yet promoted)
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE' ||
    code === 'ENOTFOUND'
  );
}
