import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import type { CommandIo } from '../../../bin/commands/types.ts';
import { parseConfig } from '../../../functions/core/config.ts';
import {
  DRILL_ID_TAG,
  RestoreTimeOutOfRangeError,
} from '../../../functions/drill/ports/database-recovery.ts';
import { type BackupRecord, readBackup } from '../../../functions/local/backup.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import { pruneLocal } from '../../../functions/local/retention.ts';
import { localRetentionPolicy } from '../../../functions/local/retention-plan.ts';
import type { LocalRetentionStatus } from '../../../functions/local/retention-status.ts';
import { readJson, writeJson } from '../../../functions/local/state-json.ts';
import { disposeEngine } from '../../support/postgres.ts';

/** The source's schema for these tests: one table of labelled rows. */
async function provisionMarks(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create table marks (id serial primary key, label text not null unique)');
  } finally {
    await client.end();
  }
}

const configInput = {
  source: { dbInstanceIdentifier: 'bt-cts-test', region: 'eu-west-1' },
  isolation: { copyRegion: 'eu-central-1' },
  local: { stateDir: 'state', archiveTimeoutSeconds: 60, retention: { daily: 3 } },
  drill: { timeoutMinutes: 10, restoreTimeoutMinutes: 5 },
};
const config = parseConfig(configInput);
const MANAGED = { 'recovery-drill:managed': 'true' };
const DAY_MS = 86_400_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let engine: LocalEngine;
let source: pg.Client;
const written: { label: string; committedBefore: Date }[] = [];

async function write(label: string): Promise<void> {
  await source.query('insert into marks (label) values ($1)', [label]);
  await sleep(30);
  written.push({ label, committedBefore: new Date() });
  await sleep(30);
}

/** Ends the current WAL segment, waits until the archive holds it, and lets the engine index it. */
async function switchAndArchive(): Promise<void> {
  const { rows } = await source.query<{ file: string }>('select pg_walfile_name(pg_switch_wal()) as file');
  const file = rows[0]?.file as string;
  while (!readdirSync(engine.paths.walArchive).includes(file)) await sleep(25);
  // What `local status` does: the newest segments' commit times land in wal-index.json.
  await engine.restorableWindow();
}

function justAfter(label: string): Date {
  const entry = written.find((w) => w.label === label);
  if (!entry) throw new Error(`no row ${label}`);
  return entry.committedBefore;
}

function labelsUpTo(label: string): string[] {
  const index = written.findIndex((w) => w.label === label);
  return written.slice(0, index + 1).map((w) => w.label);
}

async function labelsIn(instanceId: string): Promise<string[]> {
  const url = await engine.instanceUrl(instanceId);
  if (!url) throw new Error(`instance ${instanceId} has no url`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ label: string }>('select label from marks order by id')).rows.map(
      (r) => r.label,
    );
  } finally {
    await client.end();
  }
}

/**
 * Moves a real backup's start date back by whole days, so the planner sees one backup per day.
 * Only `startedAt` (what retention dates a backup by) moves: the stop time and the WAL's commit
 * times stay this minute's, because a restore picks its backup by stop time and replays commits
 * stamped by the server's real clock.
 */
async function dateBack(id: string, days: number): Promise<void> {
  const file = join(engine.paths.backups, id, 'backup.json');
  const record = (await readJson<BackupRecord>(file)) as BackupRecord;
  await writeJson(file, {
    ...record,
    startedAt: new Date(Date.parse(record.startedAt) - days * DAY_MS).toISOString(),
  });
}

const backup = async (id: string) => (await readBackup(engine.paths, id)) as BackupRecord;
const position = (name: string) => name.slice(8, 24);
const archiveNames = () => readdirSync(engine.paths.walArchive).sort();
const segmentNames = () => archiveNames().filter((n) => /^[0-9A-F]{24}$/.test(n));
const backupIds = () => readdirSync(engine.paths.backups).sort();

/** Every backup, archive file and the WAL index, to prove a run changed nothing. */
async function stateSnapshot() {
  return {
    backups: backupIds(),
    archive: archiveNames(),
    index: await readFile(engine.paths.walIndex, 'utf8'),
  };
}

function capturedIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd };
  return { io, out, err };
}

async function cli(...args: string[]) {
  const { io, out, err } = capturedIo(root);
  const code = await main(['local', ...args], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('local retention and WAL pruning', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-retention-'));
    // As root the server runs as "postgres", which must be able to pass through the test's folder.
    await chmod(root, 0o755);
    await writeFile(join(root, 'recovery-drill.config.json'), JSON.stringify(configInput));
    engine = new LocalEngine({ config, baseDir: root, provision: provisionMarks, trickle: false });
    await engine.startSource();
    source = new pg.Client({ connectionString: (await engine.sourceUrl()) as string });
    await source.connect();
    // Five real backups, each followed by writes spread over two archived segments; b0 is dated
    // four days ago, ..., b4 today.
    for (let k = 0; k < 5; k++) {
      await write(`before-b${k}`);
      await engine.createSnapshot(`b${k}`, MANAGED);
      await write(`after-b${k}-1`);
      await switchAndArchive();
      await write(`after-b${k}-2`);
      await switchAndArchive();
      await dateBack(`b${k}`, 4 - k);
    }
  });

  afterAll(async () => {
    await source?.end().catch(() => undefined);
    await disposeEngine(engine, root);
  });

  it('a dry run prints what it keeps and removes, and why, and removes nothing', async () => {
    const before = await stateSnapshot();
    const b2Start = (await backup('b2')).startWalFile as string;
    const { code, out, err } = await cli('prune', '--dry-run');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/3 daily and 0 monthly restore point\(s\) \(local\.retention\).*dry run/);
    expect(out).toMatch(/backups: 3 kept, 2 to remove/);
    expect(out).toMatch(/keep {4}b4: daily restore point of .*; newest managed snapshot: never deleted/);
    expect(out).toMatch(/keep {4}b2: daily restore point of .* \(3 of the 3 most recent days\)/);
    expect(out).toMatch(/remove {2}b0: expired: .* not among the 3 most recent days/);
    expect(out).toMatch(/remove {2}b1: expired/);
    expect(out).toContain(`WAL: ${b2Start} is the start segment of b2, the oldest backup kept`);
    expect(out).toMatch(/ {2}remove {2}\d+ segment\(s\)/);
    expect(await stateSnapshot()).toEqual(before);
  });

  it('status shows the archive size in bytes and human, its rate, and the backups planned for removal', async () => {
    const { code, out } = await cli('status');
    expect(code).toBe(0);
    const sizes = segmentNames().map((n) => statSync(join(engine.paths.walArchive, n)).size);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    expect(out).toMatch(new RegExp(`size: [\\d.]+ (MiB|GiB) \\(${bytes} bytes\\)`));
    expect(out).toMatch(/rate: [\d.]+ (KiB|MiB|GiB)\/h \([\d.]+ segments\/h\) over [\d.]+ h of archive/);
    expect(out).toMatch(
      /retention \(local\.retention: 3 daily, 0 monthly\): 3 backup\(s\) kept, 2 planned for removal, \d+ WAL file\(s\)/,
    );
    const json = await cli('status', '--json');
    const { usage } = (JSON.parse(json.out) as { retention: LocalRetentionStatus }).retention;
    expect(usage.bytes).toBe(bytes);
    expect(usage.segments).toBe(sizes.length);
    // Segments after the oldest were archived within the span between the oldest and the newest.
    const times = segmentNames().map((n) => statSync(join(engine.paths.walArchive, n)).mtimeMs);
    const span = (Math.max(...times) - Math.min(...times)) / 3_600_000;
    expect(usage.bytesPerHour).toBeCloseTo((bytes - (sizes[0] as number)) / span, 0);
    expect(usage.segmentsPerHour).toBeCloseTo((sizes.length - 1) / span, 3);
  });

  it('deletes nothing, backups or WAL, when the backup listing is incomplete', async () => {
    // What takeBackup leaves for a moment between creating the folder and writing backup.json.
    const halfMade = join(engine.paths.backups, 'half-made');
    await mkdir(halfMade);
    try {
      const before = await stateSnapshot();
      const result = await pruneLocal(engine.paths, localRetentionPolicy(config));
      expect(result.blocked).toMatch(/incomplete .*half-made\/backup\.json is missing/);
      expect(result.deletedBackups).toEqual([]);
      expect(result.removedWal).toEqual([]);
      expect(result.wal.remove).toEqual([]);
      const { code, out } = await cli('prune');
      expect(code).toBe(1);
      expect(out).toMatch(/BLOCKED: the backup listing is incomplete/);
      expect(await stateSnapshot()).toEqual(before);
    } finally {
      await rmdir(halfMade);
    }
  });

  it('keeps the backup a restore is copying from, and the WAL it needs, and the restore is exact', async () => {
    const b0Start = (await backup('b0')).startWalFile as string;
    const target = justAfter('after-b0-1');
    const restoring = engine.recovery.restoreToPointInTime({
      instanceId: 'during-prune',
      targetTime: target,
      tags: { [DRILL_ID_TAG]: 'd-1' },
    });
    const record = join(engine.paths.instances, 'during-prune', 'instance.json');
    while ((await readJson<{ status: string }>(record).catch(() => null))?.status !== 'creating')
      await sleep(5);
    const result = await pruneLocal(engine.paths, localRetentionPolicy(config));
    expect(result.inUse).toEqual({ b0: ['during-prune'] });
    expect(result.backups.keep.find((k) => k.id === 'b0')?.reasons[0]).toMatch(
      /in use: restore during-prune is copying from it/,
    );
    expect(result.deletedBackups).toEqual(['b1']);
    expect(result.wal.keepFrom).toBe(b0Start);
    expect(segmentNames().every((n) => position(n) >= position(b0Start))).toBe(true);
    const instance = await restoring;
    expect(instance.status).toBe('available');
    expect(await labelsIn('during-prune')).toEqual(labelsUpTo('after-b0-1'));
    await engine.recovery.deleteInstance('during-prune');
    expect(backupIds()).toEqual(['b0', 'b2', 'b3', 'b4']);
  });

  it('removes the old backups and the WAL only they needed; the window starts at the oldest kept backup', async () => {
    const b2 = await backup('b2');
    const b2Start = b2.startWalFile as string;
    const olderBefore = archiveNames().filter((n) => position(n) < position(b2Start));
    expect(olderBefore.some((n) => n.endsWith('.backup'))).toBe(true);
    const indexBefore = (await readJson<Record<string, unknown>>(engine.paths.walIndex)) ?? {};
    expect(olderBefore.some((n) => n in indexBefore)).toBe(true);

    const { code, out, err } = await cli('prune');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/backups: 3 kept, 1 removed/);
    expect(out).toMatch(/removed b0: expired/);
    expect(out).toMatch(/ {2}removed \d+ segment\(s\) and \d+ \.backup\/\.partial file\(s\)/);

    expect(backupIds()).toEqual(['b2', 'b3', 'b4']);
    expect((await engine.listSnapshots()).map((s) => s.id)).toEqual(['b2', 'b3', 'b4']);
    const archive = archiveNames();
    for (const name of olderBefore) expect(archive).not.toContain(name);
    expect(archive.every((n) => position(n) >= position(b2Start))).toBe(true);
    expect(archive).toContain(b2Start);
    const index = (await readJson<Record<string, unknown>>(engine.paths.walIndex)) ?? {};
    expect(Object.keys(index).every((n) => archive.includes(n))).toBe(true);
    expect((await engine.restorableWindow()).earliest?.toISOString()).toBe(b2.stoppedAt);
    expect(out).toContain(`restorable: earliest ${b2.stoppedAt}`);
  });

  it('restores a point after the oldest kept backup exactly, from that backup and the WAL kept for it', async () => {
    const target = justAfter('after-b2-1');
    const instance = await engine.recovery.restoreToPointInTime({
      instanceId: 'kept-point',
      targetTime: target,
      tags: { [DRILL_ID_TAG]: 'd-2' },
    });
    expect(instance.status).toBe('available');
    expect(await labelsIn('kept-point')).toEqual(labelsUpTo('after-b2-1'));
    expect(new Date(instance.restorePointAt as string).getTime()).toBeLessThanOrEqual(target.getTime());
    await engine.recovery.deleteInstance('kept-point');
  });

  it('refuses a point the pruned backups covered, creating nothing', async () => {
    await expect(
      engine.recovery.restoreToPointInTime({
        instanceId: 'pruned-point',
        targetTime: justAfter('after-b1-1'),
        tags: { [DRILL_ID_TAG]: 'd-3' },
      }),
    ).rejects.toThrow(RestoreTimeOutOfRangeError);
    expect(await engine.recovery.describeInstance('pruned-point')).toBeNull();
  });

  it('a new backup prunes after itself, keeping the newest ones and the WAL they need', async () => {
    await write('before-b5');
    const { code, out } = await cli('backup', '--id', 'b5');
    expect(code).toBe(0);
    expect(out).toMatch(/backup b5 available/);
    expect(out).toMatch(/retention: 3 backup\(s\) kept; removed b\d/);
    const kept = backupIds();
    expect(kept).toHaveLength(3);
    expect(kept).toContain('b5');
    const starts = await Promise.all(kept.map(async (id) => (await backup(id)).startWalFile as string));
    const oldest = starts.sort((a, b) => position(a).localeCompare(position(b)))[0] as string;
    expect(archiveNames().every((n) => position(n) >= position(oldest))).toBe(true);
    await write('after-b5');
    await write('after-b5-last');
    await switchAndArchive();
    const instance = await engine.recovery.restoreToPointInTime({
      instanceId: 'after-new-backup',
      targetTime: justAfter('after-b5'),
      tags: { [DRILL_ID_TAG]: 'd-4' },
    });
    expect(instance.status).toBe('available');
    expect(await labelsIn('after-new-backup')).toEqual(labelsUpTo('after-b5'));
    await engine.recovery.deleteInstance('after-new-backup');
  });

  it('removes no WAL while another backup is being taken, since its start segment is not recorded yet', async () => {
    await write('before-concurrent');
    await switchAndArchive();
    // The backup in a separate process, as `local backup` in another terminal would take it.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'restore-child.ts')],
      {
        cwd: join(import.meta.dirname, '..', '..', '..'),
        env: { ...process.env, STATE_DIR: engine.paths.root, BACKUP_ID: 'concurrent' },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const record = join(engine.paths.backups, 'concurrent', 'backup.json');
    const status = async () => (await readJson<{ status: string }>(record).catch(() => null))?.status;
    while (child.exitCode === null && (await status()) !== 'creating') await sleep(5);
    expect(await status()).toBe('creating');
    const archiveBefore = archiveNames();
    // One daily point: every older backup goes, and (but for the backup being taken) their WAL would.
    const result = await pruneLocal(engine.paths, { daily: 1, monthly: 0, maxDeletionsPerRun: 20 });
    // Let the backup end before anything can fail: it must not outlive the test.
    expect(await exited).toBe(0);
    expect(result.deletedBackups.length).toBeGreaterThan(0);
    expect(result.blocked).toBeNull();
    expect(result.backups.keep.find((k) => k.id === 'concurrent')?.reasons.join()).toMatch(
      /status "creating"/,
    );
    expect(result.wal.blocked).toMatch(/backup concurrent is being taken/);
    expect(result.removedWal).toEqual([]);
    const archiveAfter = archiveNames();
    expect(archiveBefore.filter((n) => !archiveAfter.includes(n))).toEqual([]);
    expect((await backup('concurrent')).status).toBe('available');
  });
});
