/**
 * Benchmark: plan retention over 100,000 snapshots (goal: median under 100 ms).
 *
 * The history is realistic in shape, only larger than one database ever holds: about six years,
 * several snapshots a day at varying hours, mostly managed manual snapshots, mixed with RDS
 * automated ones, snapshots from other tools (untagged) and a few in transient states, listed in
 * the arbitrary order a paginated API returns them. Deterministic (seeded), so runs compare.
 *
 * Run: `node bin/run-ts.js bench/retention-plan.ts [--runs N] [--snapshots N]`
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { MANAGED_TAG } from '../functions/core/contracts.ts';
import { parseRetentionInput, planRetention, type SnapshotRecord } from '../functions/core/retention.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, snapshots: { type: 'string', default: '100000' } },
});
const RUNS = Number(values.runs);
const COUNT = Number(values.snapshots);
const GOAL_MS = 100;

/** mulberry32: a small, well-mixed 32-bit PRNG (integer math, so no floating-point drift). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function history(count: number): SnapshotRecord[] {
  const random = prng(20261126);
  const end = Date.UTC(2026, 10, 26);
  const span = 6 * 365 * 86_400_000;
  const snapshots: SnapshotRecord[] = [];
  for (let i = 0; i < count; i++) {
    const createdAt = new Date(end - Math.floor(random() * span)).toISOString();
    const roll = random();
    const type = roll < 0.2 ? 'automated' : 'manual';
    const status = random() < 0.02 ? 'creating' : 'available';
    const tags: Record<string, string> =
      roll < 0.9
        ? { [MANAGED_TAG]: 'true', 'recovery-drill:tier': 'daily', 'recovery-drill:source': 'bt-cts-prod' }
        : {};
    snapshots.push({ id: `rds:bt-cts-prod-${i.toString(36)}`, createdAt, type, status, tags });
  }
  return snapshots;
}

function stats(samples: number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** Wall time and CPU time (user + system) of one call, in ms. CPU time is the steadier number on a shared machine. */
function time(fn: () => void): { wall: number; cpu: number } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

const snapshots = history(COUNT);
const document = JSON.parse(JSON.stringify({ complete: true, snapshots })) as unknown;
const policy = { daily: 35, monthly: 12, maxDeletionsPerRun: 20 };
const now = new Date(Date.UTC(2026, 10, 26, 12));

// Warm up the JIT so the numbers describe a prune Lambda after its first invocations.
for (let i = 0; i < 5; i++) planRetention({ complete: true, snapshots }, policy, now);

const planSamples: { wall: number; cpu: number }[] = [];
const parseSamples: { wall: number; cpu: number }[] = [];
let plan = planRetention({ complete: true, snapshots }, policy, now);
// Separate loops: the garbage of one kind of run must not be collected inside the other's timing.
for (let i = 0; i < RUNS; i++) {
  planSamples.push(
    time(() => {
      plan = planRetention({ complete: true, snapshots }, policy, now);
    }),
  );
}
for (let i = 0; i < RUNS; i++) parseSamples.push(time(() => parseRetentionInput(document)));

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const row = (step: string, goal: string, kind: 'wall' | 'cpu', samples: { wall: number; cpu: number }[]) => {
  const s = stats(samples.map((x) => x[kind]));
  return {
    step,
    time: kind === 'wall' ? 'wall' : 'cpu (user+sys)',
    goal,
    median: fmt(s.median),
    min: fmt(s.min),
    max: fmt(s.max),
  };
};
const wall = stats(planSamples.map((x) => x.wall));
console.log(`retention plan: ${COUNT.toLocaleString('en')} snapshots, ${RUNS} runs, Node ${process.version}`);
console.log(
  `plan: keep ${plan.keep.length}, delete ${plan.delete.length} (cap ${policy.maxDeletionsPerRun})`,
);
console.log(`load average (1 min): ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores\n`);
console.table([
  row('planRetention', `< ${GOAL_MS} ms`, 'wall', planSamples),
  row('planRetention', '', 'cpu', planSamples),
  row('parseRetentionInput', '', 'wall', parseSamples),
]);
const ok = wall.median < GOAL_MS;
console.log(
  ok
    ? `median ${fmt(wall.median)}: within the goal`
    : `median ${fmt(wall.median)}: OVER the ${GOAL_MS} ms goal`,
);
process.exitCode = ok ? 0 : 1;
