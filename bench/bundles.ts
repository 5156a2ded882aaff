/**
 * Benchmark: the minified bundle of every Lambda function (each `functions/*.ts` entry) and its
 * cold initialisation time. Goals (issue 12): each bundle at most 500 KB with the SDK clients it
 * uses bundled, and initialisation at most 100 ms.
 *
 * Bundles with the stack's own NodejsFunction options (lib/function.ts: ESM, node22, minified,
 * mainFields module,main, nothing external, the createRequire banner), then imports each bundle
 * in a fresh `node` process with the environment the stack gives it (its `RECOVERY_DRILL_SETTINGS`,
 * encoded from the repository's configuration) and times the import (module evaluation: SDK
 * clients, Powertools, decoding the settings), median of several runs.
 * For comparison it also bundles with `@aws-sdk/*` left to the SDK the Lambda runtime ships.
 *
 * Run: `node bin/run-ts.js bench/bundles.ts [--runs N]`
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { encodeSettings, SETTINGS_VARIABLE, type SettingsResources } from '../functions/core/settings.ts';
import { loadConfig } from '../functions/shared/config-file.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const RUNS = Number(values.runs);
const SIZE_GOAL = 500 * 1024;
const INIT_GOAL_MS = 100;

/** Every function: each file directly under functions/ is one Lambda entry. */
const ENTRIES = readdirSync(resolve('functions'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => name.slice(0, -'.ts'.length))
  .sort();

/** The same options as the stack's NodejsFunction bundling. */
const BANNER =
  "import { createRequire as __rdCreateRequire } from 'node:module';const require = __rdCreateRequire(import.meta.url);";

/** What every function's environment holds besides its settings (no network is used while importing). */
const BASE_ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'recovery-drill',
  POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
};

/** The repository's configuration (the heartbeat's secret set, so that its function can start). */
const config = (() => {
  const { config: loaded } = loadConfig({ explicitPath: resolve('recovery-drill.config.json') });
  return { ...loaded, heartbeat: { ...loaded.heartbeat, secretName: 'bt-cts/heartbeat-writer' } };
})();

const backup = {
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:escalations',
  stateTable: 'state-table',
};

/** Each entry's `RECOVERY_DRILL_SETTINGS`, as the stack encodes it, with plausible resources. */
const SETTINGS: Record<string, () => string> = {
  snapshot: () =>
    encodeSettings('snapshot', config, {
      ...backup,
      copyKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies',
      bucket: 'backup-bucket',
      exportRoleArn: 'arn:aws:iam::123456789012:role/export',
      exportKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/export',
      artifactsVersion: 'f'.repeat(64),
    }),
  artifacts: () =>
    encodeSettings('artifacts', config, {
      ...backup,
      bucket: 'backup-bucket',
      artifactsVersion: 'f'.repeat(64),
    }),
  prune: () => encodeSettings('prune', config, { ...backup, bucket: 'backup-bucket' }),
  'rpo-monitor': () => encodeSettings('rpoMonitor', config, backup),
  heartbeat: () => encodeSettings('heartbeat', config, {}),
  'drill-start': () =>
    encodeSettings('drillStart', config, {
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:recovery-drill',
      copyRegionStateMachineArn: null,
    }),
  drill: () => encodeSettings('drill', config, drillResources),
  'drill-abort-cleanup': () =>
    encodeSettings('drillAbortCleanup', config, {
      ...drillResources,
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:recovery-drill',
    }),
};

/** What the stack gives the drill's step functions, with plausible values. */
const drillResources: SettingsResources<'drill'> = {
  bucket: 'backup-bucket',
  topicArn: backup.topicArn,
  drillSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:recovery-drill/drill-AbCdEf',
  dbSubnetGroupName: 'recovery-drill-isolated',
  dbSecurityGroupIds: ['sg-0123456789abcdef0'],
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/recovery-drill',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/bt-cts-api:1',
  appSubnetIds: ['subnet-0123456789abcdef0'],
  appSecurityGroupIds: ['sg-0123456789abcdef1'],
  logGroupName: null,
  stateTable: backup.stateTable,
  drillRegion: null,
  artifactsBucket: null,
};

/** The environment of the entry a bundle folder holds (`<entry>` or `<entry>.sdk-external`). */
function envOf(outfile: string): Record<string, string> {
  const entry = basename(dirname(outfile)).replace(/\.sdk-external$/, '');
  const settings = SETTINGS[entry] ?? (entry.startsWith('drill-') ? SETTINGS.drill : undefined);
  return { ...BASE_ENV, ...(settings ? { [SETTINGS_VARIABLE]: settings() } : {}) };
}

async function bundle(entry: string, root: string, sdkExternal: boolean) {
  // One folder per bundle, as in the Lambda package.
  const outdir = join(root, `${entry}${sdkExternal ? '.sdk-external' : ''}`);
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'index.mjs');
  const result = await build({
    entryPoints: [resolve('functions', `${entry}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: BANNER },
    external: sdkExternal ? ['@aws-sdk/*'] : [],
    metafile: true,
    logLevel: 'error',
  });
  return { outfile, bytes: statSync(outfile).size, metafile: result.metafile };
}

function biggestPackages(metafile: Metafile, count: number): string {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = match?.[1] ?? 'recovery-drill';
      byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)}`)
    .join(', ');
}

/**
 * Milliseconds to import the bundle in a fresh node process: wall clock and CPU (user + system).
 * CPU time is the steadier number on a shared, loaded machine; Lambda's init is closer to wall time.
 */
function initMs(outfile: string): { wall: number; cpu: number } | { failed: string } {
  const script = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); const u = process.cpuUsage(c); process.stdout.write(JSON.stringify({ wall: performance.now() - t, cpu: (u.user + u.system) / 1000 }));`;
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...envOf(outfile) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out) as { wall: number; cpu: number };
  } catch (error) {
    // A bundle that throws while loading is a finding, not the end of the benchmark.
    const stderr = String((error as { stderr?: string }).stderr ?? error);
    const line =
      stderr.split('\n').find((l) => /^[A-Za-z]*Error\b/.test(l.trim())) ?? stderr.trim().split('\n').pop();
    return { failed: (line ?? '').trim().slice(0, 160) };
  }
}

function medianInit(outfile: string): { wall: number; cpu: number } | { failed: string } {
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const sample = initMs(outfile);
    if ('failed' in sample) return sample;
    samples.push(sample);
  }
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

function initText(init: { wall: number; cpu: number } | { failed: string }): string {
  if ('failed' in init) return `init failed: ${init.failed}`;
  return `${init.wall.toFixed(0)} / ${init.cpu.toFixed(0)} ms${init.wall <= INIT_GOAL_MS ? '' : ' (over)'}`;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

// Inside node_modules, so the runtime-SDK variant resolves @aws-sdk/* as Lambda's runtime would.
mkdirSync(resolve('node_modules/.cache'), { recursive: true });
const outdir = mkdtempSync(resolve('node_modules/.cache/recovery-drill-bundles-'));
try {
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; init = median of ${RUNS} fresh imports (wall / CPU ms)`,
  );
  console.log('');
  console.log(
    '| function | bundle (SDK bundled) | init | bundle (runtime SDK) | init | largest parts (KB) |',
  );
  console.log('|---|---|---|---|---|---|');
  let allMet = true;
  for (const entry of ENTRIES) {
    const full = await bundle(entry, outdir, false);
    const slim = await bundle(entry, outdir, true);
    initMs(full.outfile); // warm the file system cache once
    const fullInit = medianInit(full.outfile);
    const slimInit = medianInit(slim.outfile);
    const met = full.bytes <= SIZE_GOAL && !('failed' in fullInit) && fullInit.wall <= INIT_GOAL_MS;
    allMet &&= met;
    console.log(
      `| ${entry} | ${(full.bytes / 1024).toFixed(0)} KB${full.bytes <= SIZE_GOAL ? '' : ' (over)'} | ${initText(fullInit)} | ${(slim.bytes / 1024).toFixed(0)} KB | ${initText(slimInit).replace(' (over)', '')} | ${biggestPackages(full.metafile, 4)} |`,
    );
  }
  console.log('');
  console.log(
    allMet
      ? `every bundle at most ${SIZE_GOAL / 1024} KB and ${INIT_GOAL_MS} ms: goals met`
      : `goals (≤ ${SIZE_GOAL / 1024} KB with the SDK bundled, ≤ ${INIT_GOAL_MS} ms) NOT met by every function`,
  );
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
