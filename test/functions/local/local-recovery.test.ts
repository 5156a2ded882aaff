import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, open, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config.ts';
import { InputError } from '../../../functions/core/errors.ts';
import {
  BackupIntegrityError,
  DRILL_ID_TAG,
  NotADrillInstanceError,
  RestoreTimeOutOfRangeError,
} from '../../../functions/drill/ports/database-recovery.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import { disposeEngine, postgresProcessesUnder } from '../../support/postgres.ts';

/** The source's schema for these tests: one table of labelled rows, each stamped at its commit. */
async function provisionMarks(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create table marks (id serial primary key, label text not null unique)');
  } finally {
    await client.end();
  }
}

function configFor(stateDir: string) {
  return parseConfig({
    source: { dbInstanceIdentifier: 'bt-cts-test', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    local: { stateDir, archiveTimeoutSeconds: 60 },
    drill: { timeoutMinutes: 10, restoreTimeoutMinutes: 5 },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const drillTags = (drillId: string) => ({ [DRILL_ID_TAG]: drillId });

let root: string;
let engine: LocalEngine;
let source: pg.Client;
/** Labels in the order written, with the instant just after each one committed. */
const written: { label: string; committedBefore: Date }[] = [];

async function write(label: string): Promise<void> {
  await source.query('insert into marks (label) values ($1)', [label]);
  await sleep(30);
  written.push({ label, committedBefore: new Date() });
  await sleep(30);
}

/** Ends the current WAL segment and waits until the archive holds it. */
async function switchAndArchive(): Promise<string> {
  const { rows } = await source.query<{ file: string }>('select pg_walfile_name(pg_switch_wal()) as file');
  const file = rows[0]?.file as string;
  while (!readdirSync(engine.paths.walArchive).includes(file)) await sleep(25);
  return file;
}

/** The instant after `label` committed and before the next row did. */
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

/** Runs a restore in a separate process (tsx), as the CLI would. */
function restoreInChild(instanceId: string, backupId?: string): ChildProcess {
  const script = join(import.meta.dirname, 'fixtures', 'restore-child.ts');
  return spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: join(import.meta.dirname, '..', '..', '..'),
    env: {
      ...process.env,
      STATE_DIR: join(root, 'state'),
      INSTANCE_ID: instanceId,
      ...(backupId ? { BACKUP_ID: backupId } : {}),
    },
    stdio: 'ignore',
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

async function instanceDirs(): Promise<string[]> {
  return existsSync(engine.paths.instances) ? await readdir(engine.paths.instances) : [];
}

describe('local recovery engine', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-local-'));
    // As root the server runs as "postgres", which must be able to pass through the test's folder.
    await chmod(root, 0o755);
    engine = new LocalEngine({
      config: configFor(join(root, 'state')),
      baseDir: root,
      provision: provisionMarks,
      trickle: false,
    });
    await engine.startSource();
    source = new pg.Client({ connectionString: (await engine.sourceUrl()) as string });
    await source.connect();
    await write('before-backup');
    await engine.createSnapshot('base', { purpose: 'test' });
    // Inside the backup's own WAL range: the segment the backup ends in is still being written.
    await write('in-range-1');
    await write('in-range-2');
    await switchAndArchive();
    // Spanning several segments.
    await write('segment-2');
    await switchAndArchive();
    await write('segment-3');
    await switchAndArchive();
    await write('segment-4');
    await write('segment-4-last');
    await switchAndArchive();
  });

  afterAll(async () => {
    await source?.end().catch(() => undefined);
    await disposeEngine(engine, root);
  });

  it('restores rows written before a target inside the backup WAL range and none written after', async () => {
    const target = justAfter('in-range-1');
    const instance = await engine.recovery.restoreToPointInTime({
      instanceId: 'in-range',
      targetTime: target,
      tags: drillTags('d-1'),
    });
    expect(instance.status).toBe('available');
    expect(instance.targetTime).toBe(target.toISOString());
    expect(await labelsIn('in-range')).toEqual(labelsUpTo('in-range-1'));
    expect(new Date(instance.restorePointAt as string).getTime()).toBeLessThanOrEqual(target.getTime());
    await engine.recovery.deleteInstance('in-range');
  });

  it('restores to a target several archived WAL segments after the backup', async () => {
    const target = justAfter('segment-3');
    const instance = await engine.recovery.restoreToPointInTime({
      instanceId: 'segments',
      targetTime: target,
      tags: drillTags('d-2'),
    });
    expect(instance.status).toBe('available');
    expect(await labelsIn('segments')).toEqual(labelsUpTo('segment-3'));
    expect(new Date(instance.restorePointAt as string).getTime()).toBeGreaterThan(
      justAfter('segment-2').getTime(),
    );
    await engine.recovery.deleteInstance('segments');
  });

  it('reports the newest archived commit as the latest restorable time and restores it', async () => {
    const window = await engine.restorableWindow();
    expect(window.latest?.getTime()).toBeGreaterThan(justAfter('segment-4').getTime());
    expect(window.latest?.getTime()).toBeLessThanOrEqual(justAfter('segment-4-last').getTime());
    const instance = await engine.recovery.restoreToPointInTime({
      instanceId: 'at-latest',
      targetTime: window.latest as Date,
      tags: drillTags('d-3'),
    });
    expect(instance.status).toBe('available');
    expect(await labelsIn('at-latest')).toEqual(labelsUpTo('segment-4-last'));
    // Both are the same commit's time: microseconds cut to milliseconds on two paths.
    const restorePoint = new Date(instance.restorePointAt as string).getTime();
    expect(Math.abs(restorePoint - (window.latest as Date).getTime())).toBeLessThanOrEqual(1);
    await engine.recovery.deleteInstance('at-latest');
  });

  it('refuses a target after the latest archived WAL and creates nothing', async () => {
    await write('not-archived');
    const target = justAfter('not-archived');
    await expect(
      engine.recovery.restoreToPointInTime({
        instanceId: 'too-late',
        targetTime: target,
        tags: drillTags('d-4'),
      }),
    ).rejects.toThrow(RestoreTimeOutOfRangeError);
    await expect(
      engine.recovery.restoreToPointInTime({
        instanceId: 'too-late',
        targetTime: target,
        tags: drillTags('d-4'),
      }),
    ).rejects.toThrow(/archived WAL/);
    expect(await engine.recovery.describeInstance('too-late')).toBeNull();
    expect(await instanceDirs()).toEqual([]);
  });

  it('refuses a target before the oldest backup and creates nothing', async () => {
    const { earliest } = await engine.restorableWindow();
    const target = new Date((earliest as Date).getTime() - 1000);
    await expect(
      engine.recovery.restoreToPointInTime({
        instanceId: 'too-early',
        targetTime: target,
        tags: drillTags('d-5'),
      }),
    ).rejects.toThrow(/oldest backup/);
    expect(await instanceDirs()).toEqual([]);
  });

  it('refuses a malformed target or instance id and creates nothing', async () => {
    await expect(
      engine.recovery.restoreToPointInTime({
        instanceId: 'bad-time',
        targetTime: new Date('nope'),
        tags: {},
      }),
    ).rejects.toThrow(InputError);
    await expect(
      engine.recovery.restoreToPointInTime({ instanceId: 'Bad_Id', targetTime: 'latest', tags: {} }),
    ).rejects.toThrow(/instanceId/);
    await expect(
      engine.recovery.restoreToPointInTime({
        instanceId: '1starts-with-digit',
        targetTime: 'latest',
        tags: {},
      }),
    ).rejects.toThrow(/instanceId/);
    expect(await instanceDirs()).toEqual([]);
  });

  it('refuses a backup whose files were altered, naming the file, and creates nothing', async () => {
    await engine.createSnapshot('altered', {});
    const data = join(engine.paths.backups, 'altered', 'data');
    const victim = 'global/pg_control';
    const handle = await open(join(data, victim), 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 100);
    await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, 100);
    await handle.close();
    const restore = engine.recovery.restoreToPointInTime({
      instanceId: 'from-altered',
      targetTime: 'latest',
      tags: {},
    });
    await expect(restore).rejects.toThrow(BackupIntegrityError);
    await expect(
      engine.recovery.restoreToPointInTime({ instanceId: 'from-altered', targetTime: 'latest', tags: {} }),
    ).rejects.toThrow(victim);
    expect(await instanceDirs()).toEqual([]);
    await engine.deleteSnapshot('altered');
  });

  it('refuses a backup with a file added after it was taken', async () => {
    await engine.createSnapshot('added', {});
    await writeFile(join(engine.paths.backups, 'added', 'data', 'base', 'planted'), 'x');
    await expect(
      engine.recovery.restoreToPointInTime({ instanceId: 'from-added', targetTime: 'latest', tags: {} }),
    ).rejects.toThrow(/base\/planted: not in the manifest/);
    expect(await instanceDirs()).toEqual([]);
    await engine.deleteSnapshot('added');
  });

  it('refuses to delete an instance that is not tagged as a drill instance', async () => {
    const instance = await engine.recovery.restoreToPointInTime({
      instanceId: 'untagged',
      targetTime: 'latest',
      tags: {},
    });
    expect(instance.status).toBe('available');
    await expect(engine.recovery.deleteInstance('untagged')).rejects.toThrow(NotADrillInstanceError);
    expect((await engine.recovery.describeInstance('untagged'))?.status).toBe('available');
  });

  it('cleanup stops and removes every restored instance and keeps the source and its backups', async () => {
    await engine.recovery.restoreToPointInTime({
      instanceId: 'leftover',
      targetTime: 'latest',
      tags: drillTags('d-9'),
    });
    const before = await engine.status();
    expect(before.instances.map((i) => i.id).sort()).toEqual(['leftover', 'untagged']);
    const result = await engine.cleanup();
    expect(result.instances.sort()).toEqual(['leftover', 'untagged']);
    expect(postgresProcessesUnder(engine.paths.instances)).toEqual([]);
    expect(await instanceDirs()).toEqual([]);
    const afterCleanup = await engine.status();
    expect(afterCleanup.source?.running).toBe(true);
    expect(afterCleanup.backups.map((b) => b.id)).toEqual(['base']);
  });

  it('leaves nothing that cleanup cannot remove when the restoring process is killed', async () => {
    const child = restoreInChild('killed');
    const dataDir = join(engine.paths.instances, 'killed', 'data');
    await waitFor(() => existsSync(join(dataDir, 'postmaster.pid')) || child.exitCode !== null);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await engine.recovery.describeInstance('killed'))?.status).not.toBe('creating');
    const result = await engine.cleanup();
    expect(result.instances).toEqual(['killed']);
    expect(postgresProcessesUnder(engine.paths.instances)).toEqual([]);
    expect(await instanceDirs()).toEqual([]);
  });

  it('undoes a half-made restore when the restoring process is interrupted', async () => {
    const child = restoreInChild('interrupted');
    const dataDir = join(engine.paths.instances, 'interrupted', 'data');
    await waitFor(() => existsSync(dataDir) || child.exitCode !== null);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(postgresProcessesUnder(engine.paths.instances)).toEqual([]);
    expect(await instanceDirs()).toEqual([]);
  });

  it('removes a half-taken backup when the backing-up process is interrupted', async () => {
    const child = restoreInChild('unused', 'interrupted-backup');
    const data = join(engine.paths.backups, 'interrupted-backup', 'data');
    await waitFor(() => existsSync(data) || child.exitCode !== null);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(existsSync(join(engine.paths.backups, 'interrupted-backup'))).toBe(false);
    expect((await engine.listSnapshots()).map((s) => s.id)).toEqual(['base']);
  });
});
