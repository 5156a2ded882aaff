/**
 * A writer that writes now and every `intervalMs` after over one PostgreSQL connection, made again
 * after any failure (a restarted server, a dropped connection): the heartbeat beside the local
 * source and the example app's trickle of traffic both run on it. A failure is logged once per
 * outage, and once when the database is reachable again; nothing it does can crash the process.
 */
import type pg from 'pg';

export interface PeriodicWriterOptions {
  readonly intervalMs: number;
  /** A new, unconnected client (the writer connects it, after listening for its errors). */
  readonly createClient: () => pg.Client;
  /** Run once on each new connection before the first write on it (e.g. create the table). */
  readonly onConnect?: (client: pg.Client) => Promise<void>;
  /** One write. A throw counts as an outage: the connection is dropped and made again next time. */
  readonly write: (client: pg.Client) => Promise<void>;
  readonly log: (event: Record<string, unknown>) => void;
  /** The log messages of an outage's start (with its `error`) and end. */
  readonly messages: { readonly failed: string; readonly recovered: string };
  /** How an error is logged (redacted: it may quote a connection string). */
  readonly describeError: (error: unknown) => string;
}

export interface PeriodicWriter {
  /** Stops after the write in flight, and closes the connection. Idempotent. */
  stop(): Promise<void>;
}

export function startPeriodicWriter(options: PeriodicWriterOptions): PeriodicWriter {
  let client: pg.Client | null = null;
  let stopping = false;
  let outage = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  async function dropClient(): Promise<void> {
    const old = client;
    client = null;
    await old?.end().catch(() => {});
  }

  async function writeOnce(): Promise<void> {
    try {
      if (!client) {
        const fresh = options.createClient();
        // A connection that dies between writes must not crash the process: the next write reconnects.
        fresh.on('error', () => {
          if (client === fresh) client = null;
        });
        await fresh.connect();
        client = fresh;
        await options.onConnect?.(fresh);
      }
      await options.write(client);
      if (outage) {
        outage = false;
        options.log({ level: 'info', msg: options.messages.recovered });
      }
    } catch (error) {
      if (!outage) {
        outage = true;
        options.log({ level: 'warn', msg: options.messages.failed, error: options.describeError(error) });
      }
      await dropClient();
    }
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      timer = null;
      inFlight = writeOnce().then(schedule);
    }, options.intervalMs);
  }

  inFlight = writeOnce().then(schedule);

  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (timer) clearTimeout(timer);
        await inFlight;
        await dropClient();
      })();
      return stopped;
    },
  };
}
