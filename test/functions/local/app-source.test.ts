/**
 * A local source provisioned by the app's own commands (`local.source` of kind `app`), through the
 * CLI: an empty database, the migrate command, the seed command with the admin's credentials in
 * the variables the app reads, the traffic command kept running beside the source. Small scripts
 * written here play the app's commands, so each part's effect can be read back; a failing seed
 * fails `local source start` with its command, exit code and last lines, and leaves nothing that
 * passes for a source.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import { isProcessAlive } from '../../../functions/local/processes.ts';
import { readCredentials, readSourceRecord } from '../../../functions/local/source.ts';
import { listProcesses, statePathsAt } from '../../../functions/local/state.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const PG = join(REPO, 'node_modules', 'pg', 'lib', 'index.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The app's commands, as scripts of its checkout (`app.repoPath`). */
function writeApp(dir: string): void {
  const withDb = (body: string) =>
    `import pg from ${JSON.stringify(PG)};\n` +
    'const client = new pg.Client({ connectionString: process.env.DATABASE_URL });\n' +
    `await client.connect();\n${body}\nawait client.end();\n`;
  writeFileSync(
    join(dir, 'migrate.mjs'),
    withDb(`
console.log('migrate: applying 1 migration to ' + process.env.DATABASE_URL);
await client.query('CREATE TABLE seeded (name text PRIMARY KEY, value text)');
await client.query('CREATE TABLE traffic (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');`),
  );
  // What the seed was given, read back by the tests (in the test's own database only).
  writeFileSync(
    join(dir, 'seed.mjs'),
    withDb(`
for (const name of ['ADMIN_USERNAME', 'ADMIN_PASSWORD', 'TZ', 'SESSION_SECRET', 'SEED_VOLUME', 'PORT']) {
  await client.query('INSERT INTO seeded VALUES ($1, $2)', [name, process.env[name] ?? null]);
}
console.log('seed: admin ' + process.env.ADMIN_USERNAME + ' with password ' + process.env.ADMIN_PASSWORD);`),
  );
  writeFileSync(
    join(dir, 'failing-seed.mjs'),
    `console.log('seed: connecting to ' + process.env.DATABASE_URL);
console.log('seed: admin password is ' + process.env.ADMIN_PASSWORD);
console.error('seed: no data file accounts.csv');
process.exit(3);
`,
  );
  writeFileSync(
    join(dir, 'traffic.mjs'),
    withDb(`
import { writeFileSync } from 'node:fs';
writeFileSync(process.env.TRAFFIC_PID_FILE, String(process.pid));
let stop = false;
process.on('SIGTERM', () => { stop = true; });
while (!stop) {
  await client.query('INSERT INTO traffic DEFAULT VALUES');
  await new Promise((r) => setTimeout(r, 100));
}`),
  );
}

describe('a local source provisioned by the app’s own commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'app-source-'));
  // As root the server runs as "postgres", which must be able to pass through this folder.
  chmodSync(dir, 0o755);
  const stateDir = join(dir, 'state');
  const paths = statePathsAt(stateDir);
  const pidFile = join(dir, 'traffic.pid');

  function writeConfig(name: string, source: object): string {
    const path = join(dir, name);
    writeFileSync(
      path,
      JSON.stringify({
        source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
        isolation: { copyRegion: 'eu-central-1' },
        app: {
          repoPath: 'app',
          migrateCommand: 'node migrate.mjs',
          env: { SESSION_SECRET: 'not-a-real-secret', SEED_VOLUME: 'from app.env' },
        },
        local: { stateDir: 'state', archiveTimeoutSeconds: 60, source },
      }),
    );
    return path;
  }

  async function cli(config: string, ...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['local', ...args, '--config', config], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: {},
      cwd: dir,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  const good = () =>
    writeConfig('good.json', {
      kind: 'app',
      seedCommand: 'node seed.mjs',
      env: { SEED_VOLUME: 'from local.source.env', TRAFFIC_PID_FILE: pidFile },
      trafficCommand: 'node traffic.mjs',
    });

  beforeAll(() => {
    // The checkout: app.repoPath "app", relative to the config file.
    mkdirSync(join(dir, 'app'));
    writeApp(join(dir, 'app'));
  });

  afterAll(async () => {
    await cli(good(), 'source', 'stop');
    expect(postgresProcessesUnder(dir)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails `local source start` on a failing seed with its command, exit code and last lines, redacted', async () => {
    const config = writeConfig('failing.json', { kind: 'app', seedCommand: 'node failing-seed.mjs' });
    const result = await cli(config, 'source', 'start');
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      `the seed command \`node failing-seed.mjs\` (in ${join(dir, 'app')}) exited with code 3 (local.source.seedCommand)`,
    );
    expect(result.err).toContain('seed: no data file accounts.csv');
    expect(result.err).toMatch(/seed: connecting to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/btcts/);
    const credentials = await readCredentials(paths);
    const secrets = [credentials?.password, credentials?.adminPassword] as string[];
    expect(secrets.every((s) => typeof s === 'string' && s.length > 8)).toBe(true);
    const log = readFileSync(join(paths.sourceDir, 'seed.log'), 'utf8');
    expect(log).toContain('seed: admin password is ***');
    for (const secret of secrets) {
      expect(result.err).not.toContain(secret);
      expect(log).not.toContain(secret);
    }
    // Nothing passes for a source: no server, and the record says it was never provisioned.
    expect(postgresProcessesUnder(dir)).toEqual([]);
    expect((await readSourceRecord(paths))?.provisionedAt).toBeNull();
    expect((await cli(config, 'source', 'url')).code).toBe(1);
  });

  it('provisions with the migrate and seed commands, then keeps exactly one traffic command running', async () => {
    const config = good();
    const first = await cli(config, 'source', 'start');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/created, provisioned and started/);
    const record = await readSourceRecord(paths);
    expect(record?.origin).toEqual({
      kind: 'app',
      repoPath: join(dir, 'app'),
      migrateCommand: 'node migrate.mjs',
      seedCommand: 'node seed.mjs',
    });
    const credentials = await readCredentials(paths);
    const url = (await cli(config, 'source', 'url')).out.trim().split('\n').at(-1) as string;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const given = Object.fromEntries(
        (
          await client.query<{ name: string; value: string | null }>('SELECT name, value FROM seeded')
        ).rows.map((r) => [r.name, r.value]),
      );
      expect(given).toEqual({
        ADMIN_USERNAME: 'admin',
        ADMIN_PASSWORD: credentials?.adminPassword,
        TZ: 'UTC',
        SESSION_SECRET: 'not-a-real-secret',
        SEED_VOLUME: 'from local.source.env',
        PORT: null,
      });
      // The traffic command writes while the source runs (once it has started: a node process or two).
      const count = async () => Number((await client.query('SELECT count(*) AS n FROM traffic')).rows[0].n);
      for (let i = 0; i < 200 && (await count()) === 0; i += 1) await sleep(100);
      const before = await count();
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < 100 && (await count()) === before; i += 1) await sleep(100);
      expect(await count()).toBeGreaterThan(before);
    } finally {
      await client.end();
    }
    // The half-made source of the failed seed was not reused: it was made anew.
    const seedLog = readFileSync(join(paths.sourceDir, 'seed.log'), 'utf8');
    expect(seedLog).toContain('seed: admin admin with password ***');
    expect(seedLog).not.toContain('no data file');
    // Starting again starts nothing more.
    expect((await cli(config, 'source', 'start')).out).toMatch(/already running/);
    const writers = (await listProcesses(paths)).filter((p) => p.kind === 'trickle');
    expect(writers).toHaveLength(1);
    expect(writers[0]?.marker).toBe(join(paths.sourceDir, 'traffic.log'));
    expect((await cli(config, 'status')).out).toMatch(/traffic command: running/);
  });

  it('refuses to drill the example against a source provisioned for the app', async () => {
    const example = writeConfig('example.json', { kind: 'example' });
    const result = await cli(example, 'source', 'start');
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/local\.source: .*provisioned from the app in .*node migrate\.mjs/);
  });

  it('stops the traffic command with the source, its own child included', async () => {
    const trafficPid = Number(readFileSync(pidFile, 'utf8'));
    expect(isProcessAlive(trafficPid)).toBe(true);
    const result = await cli(good(), 'source', 'stop');
    expect(result.out).toBe('source stopped');
    expect(isProcessAlive(trafficPid)).toBe(false);
    expect((await listProcesses(paths)).filter((p) => p.kind === 'trickle')).toEqual([]);
  });
});
