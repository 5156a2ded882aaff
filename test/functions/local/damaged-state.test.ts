/**
 * One damaged state file takes out only what depends on it, and says which file and what to do:
 * a garbled WAL cache is rebuilt, a garbled backup record skips that backup (an older intact one
 * serves the times it covers), a truncated manifest refuses its backup naming it. A restore whose
 * server dies says PostgreSQL's own FATAL line, and that log is kept when the instance goes. All on
 * a real source with real backups and restores.
 */
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import { parseConfig } from '../../../functions/core/config.ts';
import { DRILL_ID_TAG } from '../../../functions/drill/ports/database-recovery.ts';
import { backupDir } from '../../../functions/local/backup.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import { buildBlockIndex } from '../../../functions/local/verify.ts';
import { buildManifest } from '../../../functions/shared/checksums.ts';
import { disposeEngine } from '../../support/postgres.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let root: string;
let engine: LocalEngine;
let source: pg.Client;

async function switchAndArchive(): Promise<void> {
  const { rows } = await source.query<{ file: string }>('select pg_walfile_name(pg_switch_wal()) as file');
  const file = rows[0]?.file as string;
  while (!readdirSync(engine.paths.walArchive).includes(file)) await sleep(25);
}

const file = (id: string, name: string) => join(backupDir(engine.paths, id), name);

/** Runs `body` with `path` damaged as `damage` says, and puts the good file back after. */
async function withDamaged(path: string, damage: (text: string) => string, body: () => Promise<void>) {
  const good = await readFile(path, 'utf8');
  await writeFile(path, damage(good));
  try {
    await body();
  } finally {
    await writeFile(path, good);
  }
}

async function cli(...args: string[]) {
  const out: string[] = [];
  const code = await main([...args, '--config', join(root, 'config.json')], {
    out: (t) => out.push(t),
    err: (t) => out.push(t),
    env: {},
    cwd: root,
  });
  return { code, text: out.join('\n') };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'recovery-drill-damaged-'));
  await chmod(root, 0o755);
  const input = {
    source: { dbInstanceIdentifier: 'bt-cts-test', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    local: { stateDir: join(root, 'state'), archiveTimeoutSeconds: 60 },
    drill: { timeoutMinutes: 10, restoreTimeoutMinutes: 2 },
  };
  await writeFile(join(root, 'config.json'), JSON.stringify(input));
  engine = new LocalEngine({
    config: parseConfig(input),
    baseDir: root,
    provision: async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('create table marks (id serial primary key, label text not null)');
      await client.end();
    },
    trickle: false,
  });
  await engine.startSource();
  source = new pg.Client({ connectionString: (await engine.sourceUrl()) as string });
  await source.connect();
  await source.query("insert into marks (label) values ('one')");
  await engine.createSnapshot('older', {});
  await source.query("insert into marks (label) values ('two')");
  await switchAndArchive();
  await engine.createSnapshot('newer', {});
  await source.query("insert into marks (label) values ('three')");
  await switchAndArchive();
}, 180_000);

afterAll(async () => {
  await source?.end().catch(() => undefined);
  await disposeEngine(engine, root);
}, 120_000);

describe('damaged local state', () => {
  it('rebuilds a garbled WAL cache instead of failing the status', async () => {
    const before = await engine.status();
    await writeFile(engine.paths.walIndex, '{"000000010000000000000001": {"size": 16777216, "comm');
    const { code, text } = await cli('local', 'status');
    expect(code, text).toBe(0);
    expect(text).toContain(`newest archived commit: ${before.archive.lastCommitAt?.toISOString()}`);
    expect(Object.keys(JSON.parse(await readFile(engine.paths.walIndex, 'utf8'))).length).toBeGreaterThan(0);
  });

  it('skips a backup whose backup.json is garbled, names it, and restores from the older one', async () => {
    await withDamaged(
      file('newer', 'backup.json'),
      (t) => t.slice(0, 40),
      async () => {
        const { code, text } = await cli('local', 'status');
        expect(code, text).toBe(0);
        expect(text).toMatch(/backups: 1\n {2}older {2}available/);
        expect(text).toContain(`WARNING: ${file('newer', 'backup.json')} is damaged (`);
        expect(text).toContain('backup newer is skipped (restores use an older intact backup');
        expect(await engine.recovery.damagedState()).toEqual([
          expect.stringContaining(file('newer', 'backup.json')),
        ]);
        const restored = await engine.recovery.restoreToPointInTime({
          instanceId: 'from-older',
          targetTime: 'latest',
          tags: { [DRILL_ID_TAG]: 'd-older' },
        });
        expect(restored).toMatchObject({ status: 'available', sourceBackup: 'older' });
        const client = new pg.Client({
          connectionString: (await engine.instanceUrl('from-older')) as string,
        });
        await client.connect();
        const { rows } = await client.query<{ label: string }>('select label from marks order by id');
        await client.end();
        expect(rows.map((r) => r.label)).toEqual(['one', 'two', 'three']);
        await engine.recovery.deleteInstance('from-older');
      },
    );
  });

  it('refuses a backup whose manifest is truncated, naming the backup, the file and what to do', async () => {
    await withDamaged(
      file('newer', 'manifest.json'),
      (t) => t.slice(0, t.length / 2),
      async () => {
        const error = await engine.recovery
          .restoreToPointInTime({ instanceId: 'from-newer', targetTime: 'latest', tags: {} })
          .catch((e: unknown) => e as Error);
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toContain(
          `backup newer is altered and was refused: ${file('newer', 'manifest.json')}: damaged (`,
        );
        expect((error as Error).message).toContain('the backup cannot be verified, so it is not restored');
        expect(existsSync(join(engine.paths.instances, 'from-newer'))).toBe(false);
      },
    );
  });

  it('says the FATAL line of a server that dies in the restore, and keeps its log for the drill', async () => {
    // A backup damaged before its manifest was made (as by a faulty copy): its checksums hold, its
    // backup_label is garbage, and PostgreSQL gives up on it.
    await engine.createSnapshot('broken', {});
    const data = join(backupDir(engine.paths, 'broken'), 'data');
    await writeFile(join(data, 'backup_label'), 'this is not a backup label\n');
    const manifest = await buildManifest(data);
    await writeFile(file('broken', 'manifest.json'), JSON.stringify(manifest));
    await writeFile(file('broken', 'blocks.json'), JSON.stringify(await buildBlockIndex(data, manifest)));
    try {
      const failed = await engine.recovery.restoreToPointInTime({
        instanceId: 'dies',
        targetTime: 'latest',
        tags: { [DRILL_ID_TAG]: 'd-fatal' },
      });
      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toMatch(/^FATAL: invalid data in file "backup_label"/);
      await engine.recovery.deleteInstance('dies');
      const kept = join(engine.paths.drills, 'd-fatal', 'restore-postgres.log');
      expect(await readFile(kept, 'utf8')).toContain('invalid data in file "backup_label"');
      expect(existsSync(join(engine.paths.instances, 'dies'))).toBe(false);
    } finally {
      await engine.deleteSnapshot('broken');
    }
  });
});
