/**
 * The isolated copy (`local.isolatedDir`, issue 14): a real embedded PostgreSQL source archives
 * every WAL segment into both repositories and every backup is copied and checked into the second
 * one; retention prunes both with the same planner; and a drill from the isolated copy restores
 * from it alone: with the primary archive and backups moved away it passes, its RPO measured from
 * what the copy holds and its report saying where the data came from; with the copy damaged it
 * fails as RESTORE_FAILED naming what is wrong, although the primary is whole.
 */
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatStatus } from '../../../bin/commands/local.ts';
import { parseConfig } from '../../../functions/core/config.ts';
import { InputError } from '../../../functions/core/errors.ts';
import { MS_PER_DAY } from '../../../functions/core/time.ts';
import type { BackupRecord } from '../../../functions/local/backup.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import { repositoryView } from '../../../functions/local/repositories.ts';
import { statePaths } from '../../../functions/local/state.ts';
import { readJson, writeJson } from '../../../functions/local/state-json.ts';
import { verifyManifest } from '../../../functions/shared/checksums.ts';
import { type ContractApp, startContractApp } from '../../support/contract-app.ts';
import { createCriticalTables, criticalRows, writeBusiness } from '../../support/critical-tables.ts';
import { disposeEngine } from '../../support/postgres.ts';
import { drillConfig } from '../drill/aws/support.ts';
import { runStepDrill } from '../drill/step-drill.ts';

const PASSWORD = 'admin-pass-isolated';
const MANAGED = { 'recovery-drill:managed': 'true' };
const SEGMENT = /^[0-9A-F]{24}$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('local.isolatedDir: where the isolated copy may live', () => {
  const paths = (local: Record<string, unknown>) =>
    statePaths(parseConfig({ ...baseInput, local }), '/srv/drills');
  const baseInput = {
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
  };

  it('defaults to a folder beside the state folder, and resolves a relative one against the config file', () => {
    expect(paths({}).isolated?.dir).toBe('/srv/drills/.recovery-drill-isolated');
    expect(paths({ stateDir: '/var/state' }).isolated?.dir).toBe('/var/state-isolated');
    expect(paths({ isolatedDir: '../vault/copy' }).isolated).toMatchObject({
      dir: '/srv/vault/copy',
      walArchive: '/srv/vault/copy/wal-archive',
      backups: '/srv/vault/copy/backups',
    });
  });

  // One absolute, one relative: only the configuration file's folder tells, so the engine checks.
  it.each([
    ['an absolute folder inside the state folder', { stateDir: 'state', isolatedDir: '/srv/drills/state/x' }],
    ['the state folder itself, absolute', { stateDir: 'state', isolatedDir: '/srv/drills/state' }],
    ['a relative folder holding the state folder', { stateDir: '/srv/drills/state', isolatedDir: '.' }],
    [
      'a relative folder inside the state folder',
      { stateDir: '/srv/drills/state', isolatedDir: 'state/copy' },
    ],
  ])('refuses %s, naming local.isolatedDir and its value', (_what, local) => {
    let error: unknown;
    try {
      paths(local);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain('local.isolatedDir');
    expect((error as Error).message).toContain(JSON.stringify(local.isolatedDir));
    expect((error as Error).message).toMatch(/neither inside the state folder .* nor holding it/);
  });

  it('refuses the overlapping values it can tell without the config file, when the configuration is read', () => {
    expect(() =>
      parseConfig({ ...baseInput, local: { stateDir: 'state', isolatedDir: 'state/copy' } }),
    ).toThrow(
      /local\.isolatedDir: a folder neither inside local\.stateDir \(state\) nor holding it.*; got "state\/copy"/,
    );
    expect(() =>
      parseConfig({ ...baseInput, local: { stateDir: '/var/state', isolatedDir: '/var' } }),
    ).toThrow(/local\.isolatedDir/);
    expect(
      parseConfig({ ...baseInput, local: { stateDir: 'state', isolatedDir: 'state-copy' } }).local
        .isolatedDir,
    ).toBe('state-copy');
  });

  it('refuses a value that is not a folder name', () => {
    expect(() => parseConfig({ ...baseInput, local: { isolatedDir: '' } })).toThrow(/local\.isolatedDir/);
    expect(() => parseConfig({ ...baseInput, local: { isolatedDir: 7 } })).toThrow(/local\.isolatedDir/);
  });
});

describe('the isolated copy of a real source', () => {
  let root: string;
  let engine: LocalEngine;
  let app: ContractApp;
  let sourceUrl: string;
  const config = () =>
    drillConfig({
      targets: { rpoMinutes: 60, rtoMinutes: 30 },
      local: { stateDir: join(root, 'state'), archiveTimeoutSeconds: 60, retention: { daily: 2 } },
      drill: { restoreTimeoutMinutes: 5 },
    });
  const primary = () => engine.paths.primary;
  const isolated = () => engine.paths.isolated as NonNullable<LocalEngine['paths']['isolated']>;
  const segmentsIn = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => SEGMENT.test(n))
          .sort()
      : [];
  const backupsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const isolatedEngine = () =>
    new LocalEngine({ config: config(), baseDir: root, trickle: false, repository: 'isolated' });

  async function switchAndArchive(): Promise<string> {
    const client = new pg.Client({ connectionString: sourceUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ file: string }>(
        'select pg_walfile_name(pg_switch_wal()) as file',
      );
      const file = rows[0]?.file as string;
      while (!segmentsIn(isolated().walArchive).includes(file)) await sleep(25);
      return file;
    } finally {
      await client.end();
    }
  }

  /** Dates a backup back by whole days in both repositories (retention dates a backup by its start). */
  async function dateBack(id: string, days: number): Promise<void> {
    for (const dir of [primary().backups, isolated().backups]) {
      const file = join(dir, id, 'backup.json');
      const record = (await readJson<BackupRecord>(file)) as BackupRecord;
      await writeJson(file, {
        ...record,
        startedAt: new Date(Date.parse(record.startedAt) - days * MS_PER_DAY).toISOString(),
      });
    }
  }

  async function drillFromIsolated(reason: string) {
    const dir = await mkdtemp(join(root, 'drill-'));
    const recovery = isolatedEngine().recovery;
    return runStepDrill({
      config: config(),
      mode: 'local',
      recovery,
      instanceUrl: (id) => recovery.instanceUrl(id),
      app,
      adminPassword: PASSWORD,
      dir,
      input: { reason, from: 'isolated' },
    });
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-isolated-'));
    // As root the server runs as "postgres", which must be able to pass through the test's folder.
    await chmod(root, 0o755);
    engine = new LocalEngine({
      config: config(),
      baseDir: root,
      provision: async (url) => {
        await createCriticalTables(url);
        await writeBusiness(url, 'before-backups');
      },
      trickle: false,
    });
    await engine.startSource();
    sourceUrl = (await engine.sourceUrl()) as string;
    // Three backups, b0 two days back, b1 one day, b2 today, with archived writes after each.
    for (let k = 0; k < 3; k++) {
      await engine.createSnapshot(`b${k}`, MANAGED);
      for (let i = 0; i < 5; i++) await writeBusiness(sourceUrl, `after-b${k}-${i}`);
      await switchAndArchive();
      await dateBack(`b${k}`, 2 - k);
    }
    app = await startContractApp({ password: PASSWORD });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await disposeEngine(engine, root);
  }, 120_000);

  it('receives every archived segment and every backup, byte for byte and checked', async () => {
    expect(isolated().dir).toBe(join(root, 'state-isolated'));
    const archived = segmentsIn(primary().walArchive);
    expect(archived.length).toBeGreaterThan(3);
    expect(segmentsIn(isolated().walArchive)).toEqual(archived);
    for (const name of archived)
      expect(
        (await readFile(join(isolated().walArchive, name))).equals(
          await readFile(join(primary().walArchive, name)),
        ),
      ).toBe(true);
    expect(backupsIn(isolated().backups)).toEqual(['b0', 'b1', 'b2']);
    for (const id of ['b0', 'b1', 'b2']) {
      const manifest = JSON.parse(await readFile(join(isolated().backups, id, 'manifest.json'), 'utf8'));
      expect(await verifyManifest(join(isolated().backups, id, 'data'), manifest, { strict: true })).toEqual(
        [],
      );
    }
    // Nothing half copied is left in the copy's incoming folder.
    expect(backupsIn(join(isolated().dir, 'incoming'))).toEqual([]);
    const status = await engine.status();
    expect(status.repositories.gaps).toEqual([]);
    expect(status.repositories.isolated?.newestBackup?.id).toBe('b2');
    expect(status.repositories.isolated?.archive.newest).toBe(archived.at(-1));
    const text = formatStatus(status);
    expect(text).toMatch(
      new RegExp(
        `isolated +${isolated().dir}\\n +backups 3, newest b2 .*newest archived segment ${archived.at(-1)}`,
      ),
    );
    expect(text).toContain('gap: none');
  });

  it('prunes both repositories with the same planner', async () => {
    // Two daily points: b0 (two days back) goes from both, and the WAL only it needed.
    const result = await engine.prune();
    expect(result.deletedBackups).toEqual(['b0']);
    expect(result.isolated?.deletedBackups).toEqual(['b0']);
    expect(result.isolated?.removedWal).toEqual(result.removedWal);
    expect(result.removedWal.length).toBeGreaterThan(0);
    expect(backupsIn(primary().backups)).toEqual(['b1', 'b2']);
    expect(backupsIn(isolated().backups)).toEqual(['b1', 'b2']);
    expect(segmentsIn(isolated().walArchive)).toEqual(segmentsIn(primary().walArchive));
  });

  it('fails a drill from a damaged isolated copy as RESTORE_FAILED naming the segment, the primary whole', async () => {
    for (let i = 0; i < 5; i++) await writeBusiness(sourceUrl, `before-damage-${i}`);
    await switchAndArchive();
    const b2Start = (
      (await readJson<BackupRecord>(join(isolated().backups, 'b2', 'backup.json'))) as BackupRecord
    ).startWalFile as string;
    const after = segmentsIn(isolated().walArchive).filter((n) => n > b2Start);
    const gone = after[0] as string;
    const aside = join(root, `aside-${gone}`);
    await rename(join(isolated().walArchive, gone), aside);
    try {
      expect(segmentsIn(primary().walArchive)).toContain(gone);
      const status = await engine.status();
      expect(status.repositories.gaps.join('\n')).toContain(`not in the isolated copy: ${gone}`);
      const result = await drillFromIsolated('isolated copy with a gap');
      expect(result.failed?.step).toBe('restore');
      expect(result.report?.passed).toBe(false);
      expect(result.report?.from).toBe('isolated');
      expect(result.report?.escalations.map((e) => e.class)).toEqual(['RESTORE_FAILED']);
      expect(JSON.stringify(result.report?.escalations)).toContain(gone);
      expect(JSON.stringify(result.report?.escalations)).toContain(isolated().walArchive);
      expect(result.markdown).toMatch(/^# Recovery drill \S+ \(from the isolated copy\): FAILED$/m);
    } finally {
      await rename(aside, join(isolated().walArchive, gone));
    }
  }, 180_000);

  it('restores from the isolated copy alone, the primary archive and backups moved away, with the RPO the copy holds', async () => {
    for (let i = 0; i < 5; i++) await writeBusiness(sourceUrl, `before-loss-${i}`);
    await switchAndArchive();
    const expected = await criticalRows(sourceUrl);
    // The primary repository is lost: neither its archive nor its backups can be read.
    const lostArchive = `${primary().walArchive}.lost`;
    const lostBackups = `${primary().backups}.lost`;
    await rename(primary().walArchive, lostArchive);
    await rename(primary().backups, lostBackups);
    try {
      const status = await engine.status();
      expect(status.repositories.primary.present).toBe(false);
      expect(status.repositories.gaps.join('\n')).toMatch(/the primary repository in .* is gone/);
      const window = await isolatedEngine().restorableWindow();
      const result = await drillFromIsolated('the primary repository is lost');
      expect(result.failed, JSON.stringify(result.failed?.error?.message)).toBeNull();
      const report = result.report;
      expect(report?.passed).toBe(true);
      expect(report?.from).toBe('isolated');
      expect(report?.restorePointSource).toBe('archive-coverage');
      // P is where the isolated copy's coverage ends (at or after what it covered before the drill),
      // and the RPO is T − P.
      const p = Date.parse(report?.restorePointAt as string);
      expect(p).toBeGreaterThanOrEqual((window.latest as Date).getTime());
      const t = Date.parse(report?.targetTime as string);
      expect(report?.rpoMinutes).toBeCloseTo(Math.round(((t - p) / 60_000) * 100) / 100, 2);
      expect(report?.rpoMinutes as number).toBeLessThanOrEqual(report?.targets.rpoMinutes as number);
      expect(result.markdown).toMatch(/^# Recovery drill \S+ \(from the isolated copy\): PASSED$/m);
      expect(result.markdown).toContain('| Data from | the isolated copy (`isolated`) |');
      expect(report?.steps.find((s) => s.name === 'validate')?.detail).toContain('from the isolated copy');
      // Every committed row was in the copy: the integrity step compared it with the source.
      expect(report?.steps.find((s) => s.name === 'integrity')?.outcome).toBe('passed');
      expect(expected.Transaction?.length).toBeGreaterThan(0);
      // Nothing recreated the primary backups while it ran.
      expect(existsSync(primary().backups)).toBe(false);
    } finally {
      await rm(primary().walArchive, { recursive: true, force: true });
      await rename(lostArchive, primary().walArchive);
      await rename(lostBackups, primary().backups);
    }
  }, 240_000);

  it('refuses a drill from an isolated copy that holds no backup, naming what is missing, creating nothing', async () => {
    const view = repositoryView(engine.paths, 'isolated');
    const aside = join(root, 'isolated-backups-aside');
    await rename(view.backups, aside);
    try {
      const result = await drillFromIsolated('empty isolated copy');
      // Refused in Validate input, before anything is created: RESTORE_FAILED, naming what is missing.
      expect(result.failed?.step).toBe('validate');
      expect(result.failed?.error.name).toBe('RestoreFailedError');
      expect(result.failed?.error.message).toContain(`the isolated copy ${isolated().dir} holds no backup`);
      expect(backupsIn(engine.paths.instances)).toEqual([]);
    } finally {
      await rename(aside, view.backups);
    }
  }, 120_000);
});
