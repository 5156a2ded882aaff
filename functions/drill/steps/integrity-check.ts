/**
 * `Check data integrity`: the critical tables of the restored copy (present, not empty, no
 * orphans, nothing after T but the drill's own writes; `../integrity.ts`), and the heartbeat read
 * while the copy is open (the evaluate step judges it with the RPO).
 */
import type { HeartbeatReading } from '../../core/evaluate.ts';
import { heartbeatTableName } from '../../core/heartbeat.ts';
import { redactCredentials } from '../../core/redact.ts';
import { newestHeartbeat } from '../../shared/heartbeat-db.ts';
import { checkIntegrity, type IntegrityResult } from '../integrity.ts';
import { type Evidence, IntegrityFailedError } from '../ports/errors.ts';
import {
  type DrillInfo,
  type DrillState,
  heartbeatExpected,
  need,
  type StepContext,
  timed,
} from './context.ts';

/**
 * The latest moment a restored row may carry: T for a chosen time; for `latest` the end of the
 * restore request, since the copy holds what was committed until the engine took it (after T, the
 * drill's start, by a moment).
 */
export function rowsNotAfter(state: DrillState, drill: DrillInfo): Date {
  if (drill.requestedTarget !== 'latest') return new Date(drill.targetTime);
  const requested = state.restore?.endedAt ?? drill.targetTime;
  return new Date(Math.max(Date.parse(requested), Date.parse(drill.targetTime)));
}

/** When the drill began writing to the copy: its migrations (when it ran them), else the app's start. */
export function drillWritesFrom(state: DrillState): Date | null {
  if (state.migration && state.drift) return new Date(state.drift.endedAt);
  return state.app ? new Date(state.app.startedAt) : null;
}

async function readHeartbeat(url: string, schema: string, t: Date): Promise<HeartbeatReading> {
  const table = heartbeatTableName(schema);
  try {
    const read = await newestHeartbeat(url, { schema, notAfter: t });
    return {
      table,
      configured: read.configured,
      newestAt: read.newest?.toISOString() ?? null,
      count: read.count,
      error: null,
    };
  } catch (error) {
    return {
      table,
      configured: false,
      newestAt: null,
      count: 0,
      error: redactCredentials((error as Error).message),
    };
  }
}

/** Which tables failed which check, and how many rows: what on-call compares with the source. */
function integrityEvidence(result: IntegrityResult, notAfter: Date): Evidence {
  const tables = (pick: (t: IntegrityResult['tables'][number]) => boolean) =>
    result.tables
      .filter(pick)
      .map((t) => t.table)
      .join(', ') || null;
  const orphanRows = result.tables.reduce((n, t) => n + t.orphans.reduce((m, o) => m + o.rows, 0), 0);
  const rowsAfterT = result.tables.reduce((n, t) => n + t.rowsNewerThanTarget, 0);
  return {
    problems: result.problems.length,
    missingTables: tables((t) => !t.present),
    emptyTables: tables((t) => t.empty === true),
    orphanTables: tables((t) => t.orphans.length > 0),
    orphanRows,
    tablesWithRowsAfterT: tables((t) => t.rowsNewerThanTarget > 0),
    rowsAfterT,
    notAfter: notAfter.toISOString(),
  };
}

export async function integrity({ state, deps }: StepContext) {
  const drill = need(state.drill, 'drill');
  const connection = need(state.connection, 'connection');
  const config = deps.settings.config;
  return timed(deps, async () => {
    const url = await deps.secrets.connectionUrl(connection.secretRef);
    const notAfter = rowsNotAfter(state, drill);
    const result = await checkIntegrity(url, {
      tables: config.integrity.criticalTables,
      timestampColumn: config.integrity.timestampColumn,
      notAfter,
      drillWritesFrom: drillWritesFrom(state),
    });
    if (result.problems.length > 0) {
      throw new IntegrityFailedError(
        `integrity checks failed: ${result.problems.join('; ')}`,
        integrityEvidence(result, notAfter),
      );
    }
    const heartbeat = heartbeatExpected(deps)
      ? await readHeartbeat(url, config.heartbeat.schema, new Date(drill.targetTime))
      : null;
    const beat =
      heartbeat === null
        ? `heartbeat not read (heartbeat.mode is ${config.heartbeat.mode})`
        : heartbeat.error
          ? `heartbeat ${heartbeat.table} unreadable: ${heartbeat.error}`
          : !heartbeat.configured
            ? `no heartbeat table ${heartbeat.table} in the copy`
            : `newest heartbeat at or before T ${heartbeat.newestAt ?? 'none'} (${heartbeat.count} beat(s))`;
    return {
      ...result,
      heartbeat,
      detail: `${result.tables.length} critical tables present, not empty, no orphans, nothing after ${notAfter.toISOString()}${drill.requestedTarget === 'latest' ? ' (the restore request)' : ' (T)'}; newest row ${result.newestRowAt ?? 'none'} (informational); ${beat}`,
    };
  });
}
