/**
 * Benchmark: how long `recovery-drill` takes from a fresh process to its exit, for `--help` and
 * for `retention plan` on a small listing (goal, issue 12: at most 300 ms for both).
 *
 * Spawns `node bin/recovery-drill.js …` N times per command and reports the median wall time and
 * the median CPU time (user + system, read inside the child at exit: the steadier number on a
 * shared, loaded machine), beside `node -e 0` (what Node itself takes here). The first run of
 * each command is a warm-up (file system cache; a rebuild if the sources changed) and not counted.
 *
 * Run: `node bin/run-ts.js bench/cli-start.ts [--runs N] [--bin PATH]` (`--bin` another checkout's
 * launcher, to compare before and after).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, bin: { type: 'string' } },
});
const RUNS = Number(values.runs);
const GOAL_MS = 300;
const BIN = resolve(values.bin ?? join(import.meta.dirname, '..', 'bin', 'recovery-drill.js'));
const ROOT = resolve(dirname(BIN), '..');

const work = mkdtempSync(join(tmpdir(), 'recovery-drill-cli-start-'));
const cpuFile = join(work, 'cpu.json');
// Written by the child as it exits: its own CPU time, which no spawn API returns.
const REPORT_CPU = `data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>{const u=process.cpuUsage();writeFileSync(${JSON.stringify(cpuFile)},JSON.stringify((u.user+u.system)/1000))})`;

/** A listing like one `DescribeDBSnapshots` page: 40 days of daily managed snapshots. */
function listing(): string {
  const day = 86_400_000;
  const end = Date.UTC(2026, 10, 26, 3);
  const snapshots = Array.from({ length: 40 }, (_, i) => ({
    id: `rd-btcts-${i}`,
    createdAt: new Date(end - i * day).toISOString(),
    type: 'manual',
    status: 'available',
    tags: { 'recovery-drill:managed': 'true', 'recovery-drill:tier': 'daily' },
  }));
  return JSON.stringify({ complete: true, snapshots });
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One fresh process: wall ms (spawn to exit) and the child's CPU ms. */
function once(args: string[]): { wall: number; cpu: number } {
  rmSync(cpuFile, { force: true });
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', REPORT_CPU, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const wall = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { wall, cpu: JSON.parse(readFileSync(cpuFile, 'utf8')) as number };
}

function measure(args: string[]): { wall: number; cpu: number } {
  once(args);
  const samples = Array.from({ length: RUNS }, () => once(args));
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

try {
  const snapshots = join(work, 'snapshots.json');
  writeFileSync(snapshots, listing());
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${BIN}; median of ${RUNS} fresh processes`,
  );
  console.log('');
  console.log(`| command | wall | CPU (user+sys) | goal ≤ ${GOAL_MS} ms |`);
  console.log('|---|---|---|---|');
  const baseline = measure(['-e', '0']);
  console.log(
    `| \`node -e 0\` (Node alone) | ${baseline.wall.toFixed(0)} ms | ${baseline.cpu.toFixed(0)} ms | |`,
  );
  let met = true;
  for (const [label, args] of [
    ['`recovery-drill --help`', [BIN, '--help']],
    [
      '`recovery-drill retention plan --snapshots F --now T`',
      [BIN, 'retention', 'plan', '--snapshots', snapshots, '--now', '2026-11-26T12:00:00Z'],
    ],
  ] as const) {
    const m = measure([...args]);
    const ok = m.wall <= GOAL_MS;
    met &&= ok;
    console.log(`| ${label} | ${m.wall.toFixed(0)} ms | ${m.cpu.toFixed(0)} ms | ${ok ? 'met' : 'over'} |`);
  }
  console.log('');
  console.log(
    met ? `both within ${GOAL_MS} ms: goal met` : `goal (≤ ${GOAL_MS} ms wall) NOT met by every command`,
  );
  process.exitCode = met ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
