/**
 * bench/drill: a full local drill against a source of about 1 GB (the example app's schema and
 * seed, inflated with bulk history), timing every state, and the orchestration overhead:
 * total − (restore + migrate command + app boot). Also: how many state transitions the adaptive
 * polling costs for a simulated 30-minute RDS restore, and how late it notices availability.
 *
 *   node bin/run-ts.js bench/drill.ts [--gb 1] [--keep-source]
 *
 * Everything lives in a temporary state folder, removed at the end.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEFAULT_POLLING, simulatePolling } from '../functions/core/polling.ts';
import { runLocalDrill } from '../functions/drill/drivers/local/run.ts';
import { localEngine, prepareSource } from '../functions/local/engine.ts';
import { loadConfig } from '../functions/shared/config-file.ts';
import { drillDefinition } from '../lib/drill/definition.ts';

const { values } = parseArgs({
  options: { gb: { type: 'string', default: '1' }, 'keep-source': { type: 'boolean' } },
});
const targetBytes = Number(values.gb) * 1024 ** 3;
const repo = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'recovery-drill-bench-'));
chmodSync(dir, 0o755);
const committed = JSON.parse(readFileSync(join(repo, 'recovery-drill.config.json'), 'utf8'));
writeFileSync(
  join(dir, 'config.json'),
  JSON.stringify({
    ...committed,
    app: { ...committed.app, repoPath: join(repo, 'examples', 'bt-cts') },
    local: { stateDir: join(dir, 'state'), archiveTimeoutSeconds: 10 },
  }),
);
const loaded = loadConfig({ explicitPath: join(dir, 'config.json') });
const engine = localEngine(loaded.config, loaded.baseDir);
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

try {
  await prepareSource(engine, loaded.config, log);
  const source = new pg.Client({ connectionString: (await engine.sourceUrl()) ?? '' });
  await source.connect();
  // Inflate the audit trail (the table an audited bank writes most) until the database reaches the size.
  for (;;) {
    const size = Number(
      (await source.query<{ s: string }>('SELECT pg_database_size(current_database()) AS s')).rows[0]?.s,
    );
    log(`source is ${(size / 1024 ** 3).toFixed(2)} GB`);
    if (size >= targetBytes) break;
    await source.query(
      `INSERT INTO "AuditLog" ("id", "action", "entityType", "entityId", "metadata", "createdAt")
       SELECT 'c' || substr(md5(random()::text || g::text), 1, 24), 'history', 'TRANSACTION', g::text,
              jsonb_build_object('n', g, 'note', repeat('x', 120)),
              now() - interval '30 days' + (g % 2592000) * interval '1 second'
         FROM generate_series(1, 1000000) g`,
    );
  }
  await source.end();
  log('taking the full backup of the inflated source');
  await engine.createSnapshot(`bench-${Date.now()}`, { 'recovery-drill:managed': 'true' });
  await new Promise((resolve) => setTimeout(resolve, 12_000));

  const definition = drillDefinition(loaded.config, loaded.baseDir);
  const started = Date.now();
  const result = await runLocalDrill({
    loaded,
    definition,
    input: { reason: 'bench/drill' },
    skipBackup: true,
    progress: log,
    pollIntervalMs: 200,
  });
  const total = Date.now() - started;

  const durations = new Map<string, number>();
  const entered = new Map<string, number>();
  for (const event of result.events) {
    if (!event.state) continue;
    if (event.type === 'StateEntered') entered.set(event.state, event.timestamp);
    if (event.type === 'StateExited' || event.type === 'StateFailed') {
      const since = entered.get(event.state);
      if (since !== undefined)
        durations.set(event.state, (durations.get(event.state) ?? 0) + event.timestamp - since);
    }
  }
  const ms = (state: string) => durations.get(state) ?? 0;
  const restore = ms('Restore to point in time') + ms('Check restore status');
  const migrate = ms('Run migrations');
  const boot = ms('Start app') + ms('Smoke: health');
  const overhead = total - restore - migrate - boot;

  console.log(`drill ${result.drillId}: ${result.status}`);
  console.log('| state | seconds |\n|---|---|');
  for (const [state, value] of durations) console.log(`| ${state} | ${(value / 1000).toFixed(2)} |`);
  console.log(
    `\ntotal ${(total / 1000).toFixed(1)} s; restore ${(restore / 1000).toFixed(1)} s; migrate ${(migrate / 1000).toFixed(1)} s; app boot ${(boot / 1000).toFixed(1)} s`,
  );
  console.log(`orchestration overhead: ${(overhead / 1000).toFixed(2)} s (goal < 3 s)`);
  const polling = simulatePolling(30 * 60);
  console.log(
    `simulated 30-minute RDS restore: ${polling.polls} looks, ${polling.transitions} state transitions, availability noticed ${polling.detectionLatencySeconds} s late (pauses ${DEFAULT_POLLING.minSeconds}-${DEFAULT_POLLING.maxSeconds} s)`,
  );
} finally {
  if (!values['keep-source']) {
    await engine.cleanup().catch(() => undefined);
    await engine.stopSource().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
