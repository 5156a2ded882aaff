/**
 * `recovery-drill drill --local --from isolated`, end to end (issue 14): the example app's source
 * archives into both repositories, then the state folder's archive and backups are moved away (the
 * primary repository is lost) and the whole drill runs from the isolated copy alone: it passes,
 * its RPO is what the copy holds (T − the end of the copy's coverage), and the report, the summary
 * line and the history say where the data came from.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import type { ConfigInput } from '../../../functions/core/config.ts';
import type { DrillReport } from '../../../functions/core/report.ts';
import { localEngine, prepareSource } from '../../../functions/local/engine.ts';
import { startHeartbeatProcess, stopHeartbeatProcess } from '../../../functions/local/heartbeat-process.ts';
import { type LoadedConfig, loadConfig } from '../../../functions/shared/config-file.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function processesUnder(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(dir) && !line.includes(' ps -eo'))
    .map((line) => line.trim());
}

describe('recovery-drill drill --local --from isolated, the primary repository lost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recovery-drill-isolated-e2e-'));
  // PostgreSQL runs as the OS user postgres under root: it must be able to reach its folders.
  chmodSync(dir, 0o755);
  let loaded: LoadedConfig;
  let lostAt: number;
  const state = join(dir, 'state');

  async function cli(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--config', loaded.path], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: {},
      cwd: dir,
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  beforeAll(async () => {
    const committed = JSON.parse(
      readFileSync(join(REPO, 'recovery-drill.config.json'), 'utf8'),
    ) as ConfigInput;
    const config: ConfigInput = {
      ...committed,
      app: { ...committed.app, repoPath: join(REPO, 'examples', 'bt-cts'), port: 4140 },
      local: { stateDir: state, archiveTimeoutSeconds: 2, backupMaxAgeHours: 24 },
      smoke: { readyBudgetSeconds: 8 },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    loaded = loadConfig({ explicitPath: join(dir, 'config.json') });
    const engine = localEngine(loaded.config, loaded.baseDir);
    await prepareSource(engine, loaded.config, () => undefined);
    await startHeartbeatProcess(engine.paths, {
      databaseUrl: (await engine.sourceUrl()) as string,
      schema: loaded.config.heartbeat.schema,
      retentionDays: loaded.config.heartbeat.retentionDays,
    });
    // A few seconds of archived history after the backup, in both repositories.
    await sleep(5000);
    // The primary repository is lost: its archive and its backups are moved away.
    renameSync(join(state, 'wal-archive'), join(dir, 'lost-wal-archive'));
    renameSync(join(state, 'backups'), join(dir, 'lost-backups'));
    lostAt = Date.now();
  }, 300_000);

  afterAll(async () => {
    const engine = localEngine(loaded.config, loaded.baseDir);
    await engine.cleanup();
    await stopHeartbeatProcess(engine.paths);
    await engine.stopSource();
    const left = processesUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
  }, 120_000);

  it('passes from the isolated copy alone, with the RPO the copy holds, and says so everywhere', async () => {
    const status = await cli(['local', 'status']);
    expect(status.out).toMatch(/GAP: the primary repository in .* is gone/);
    expect(status.out).toMatch(
      new RegExp(`isolated +${join(dir, 'state-isolated')}\\n +backups 1, newest local-`),
    );

    const result = await cli(['drill', '--local', '--from', 'isolated', '--json']);
    expect(result.code, result.err).toBe(0);
    const report = JSON.parse(result.out) as DrillReport;
    expect(report.passed).toBe(true);
    expect(report.from).toBe('isolated');
    // P: where the isolated copy's coverage ends, at most a couple of archive timeouts before the
    // primary was lost (the copy kept what the archiver gave it); the RPO is T − P.
    const p = Date.parse(report.restorePointAt as string);
    const t = Date.parse(report.targetTime);
    expect(p).toBeGreaterThan(lostAt - 15_000);
    expect(p).toBeLessThanOrEqual(t);
    expect(report.rpoMinutes).toBeCloseTo(Math.round(((t - p) / 60_000) * 100) / 100, 2);
    expect(report.heartbeat?.status).toBe('proven');
    expect(result.err).toContain('backup: none taken, the drill restores from the isolated copy');
    expect(result.err).toMatch(/^drill \S+ \(from the isolated copy\) passed: /m);
    // Nothing read or remade the primary repository.
    expect(existsSync(join(state, 'backups'))).toBe(false);
    expect(existsSync(join(state, 'wal-archive'))).toBe(false);

    const history = await cli(['history', '--local']);
    expect(history.code).toBe(0);
    expect(history.out).toMatch(new RegExp(`${report.drillId}\\s+\\S+\\s+passed\\s+isolated\\s`));
  }, 600_000);
});
