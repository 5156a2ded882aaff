/**
 * A restore is proven complete: a real embedded PostgreSQL source archives its WAL into the
 * engine's archive, and each test damages that archive the way the field does (a middle segment
 * moved away, 256 bytes of one overwritten, one the server cannot read) before a drill to
 * `latest`. The engine must refuse, or fail the restore, naming the segment and the last commit
 * reached, and never promote a copy that lacks committed rows. The archive is put back after each
 * test, and a healthy restore to `latest` afterwards holds every row.
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, open, readdir, rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_ID_TAG } from '../../../functions/drill/ports/database-recovery.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import { ArchiveIncompleteError } from '../../../functions/local/restore.ts';
import { type ContractApp, startContractApp } from '../../support/contract-app.ts';
import { createCriticalTables, criticalRows, writeBusiness } from '../../support/critical-tables.ts';
import { disposeEngine } from '../../support/postgres.ts';
import { drillConfig } from '../drill/aws/support.ts';
import { runStepDrill } from '../drill/step-drill.ts';

const PASSWORD = 'admin-pass-gaps';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a restore to latest is proven complete against a damaged archive', () => {
  let root: string;
  let engine: LocalEngine;
  let app: ContractApp;
  let sourceUrl: string;
  /** The archived segments written after the backup, each holding business rows, oldest first. */
  const written: string[] = [];
  const config = () =>
    drillConfig({
      targets: { rpoMinutes: 60, rtoMinutes: 30 },
      local: { stateDir: join(root, 'state'), archiveTimeoutSeconds: 60 },
      drill: { restoreTimeoutMinutes: 5 },
    });

  async function switchAndArchive(): Promise<string> {
    const client = new pg.Client({ connectionString: sourceUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ file: string }>(
        'select pg_walfile_name(pg_switch_wal()) as file',
      );
      const file = rows[0]?.file as string;
      while (!(await readdir(engine.paths.walArchive)).includes(file)) await sleep(25);
      return file;
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-gaps-'));
    // As root the server runs as "postgres", which must be able to pass through the test's folder.
    await chmod(root, 0o755);
    engine = new LocalEngine({
      config: config(),
      baseDir: root,
      provision: async (url) => {
        await createCriticalTables(url);
        await writeBusiness(url, 'before-backup');
      },
      trickle: false,
    });
    await engine.startSource();
    sourceUrl = (await engine.sourceUrl()) as string;
    await engine.createSnapshot('base', {});
    for (let s = 0; s < 4; s++) {
      for (let i = 0; i < 10; i++) await writeBusiness(sourceUrl, `segment-${s}-${i}`);
      written.push(await switchAndArchive());
    }
    app = await startContractApp({ password: PASSWORD });
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    await disposeEngine(engine, root);
  }, 120_000);

  const instances = async () =>
    existsSync(engine.paths.instances) ? await readdir(engine.paths.instances) : [];

  async function restoreLatest(id: string) {
    return engine.recovery.restoreToPointInTime({
      instanceId: id,
      targetTime: 'latest',
      tags: { [DRILL_ID_TAG]: id },
    });
  }

  it('refuses a restore to latest with a middle segment moved out of the archive, naming it, and creates nothing', async () => {
    const gone = written[1] as string;
    const aside = join(root, gone);
    await rename(join(engine.paths.walArchive, gone), aside);
    try {
      const error = await restoreLatest('gap-moved').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArchiveIncompleteError);
      expect((error as ArchiveIncompleteError).segment).toBe(gone);
      expect((error as Error).message).toMatch(
        new RegExp(`segment ${gone} is missing from the archive.*the last commit before it is at \\d{4}-`),
      );
      expect(await instances()).toEqual([]);
    } finally {
      await rename(aside, join(engine.paths.walArchive, gone));
    }
  });

  it('refuses a restore to latest when 256 bytes of a middle segment are overwritten, naming it', async () => {
    const bad = join(engine.paths.walArchive, written[2] as string);
    const original = join(root, 'original-segment');
    await copyFile(bad, original);
    const handle = await open(bad, 'r+');
    // Inside the segment's records (its first page), not the padding after its WAL switch.
    await handle.write(Buffer.alloc(256, 0xa5), 0, 256, 512);
    await handle.close();
    try {
      const error = await restoreLatest('gap-overwritten').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArchiveIncompleteError);
      expect((error as ArchiveIncompleteError).segment).toBe(written[2]);
      expect((error as Error).message).toMatch(/segment [0-9A-F]{24}, offset \d+/);
      expect(await instances()).toEqual([]);
    } finally {
      await copyFile(original, bad);
      if (await engine.recovery.describeInstance('gap-overwritten'))
        await engine.recovery.deleteInstance('gap-overwritten');
    }
  });

  it('fails the restore, never promoting a short copy, when replay cannot read a segment the check could', async () => {
    // The server runs as "postgres" when the tests run as root: a segment only root can read
    // passes the engine's check and stops replay. Run as another user, the check itself refuses it.
    const bad = join(engine.paths.walArchive, written[1] as string);
    const mode = (await stat(bad)).mode & 0o777;
    await chmod(bad, 0o000);
    try {
      if (process.getuid?.() === 0) {
        const instance = await restoreLatest('gap-unreadable');
        expect(instance.status).toBe('failed');
        expect(instance.failureReason).toMatch(
          new RegExp(
            `stopped short of the archive: replay ended at [0-9A-F]+/[0-9A-F]+ in segment ${written[1]}`,
          ),
        );
        expect(instance.failureReason).toMatch(/the last replayed commit is at \d{4}-/);
        await engine.recovery.deleteInstance('gap-unreadable');
      } else {
        await expect(restoreLatest('gap-unreadable')).rejects.toThrow(/cannot be read \(EACCES\)/);
      }
    } finally {
      await chmod(bad, mode);
      if (await engine.recovery.describeInstance('gap-unreadable'))
        await engine.recovery.deleteInstance('gap-unreadable');
    }
  });

  it('fails a drill to latest with RESTORE_FAILED naming the missing segment, with a report and a message', async () => {
    const gone = written[1] as string;
    const aside = join(root, gone);
    await rename(join(engine.paths.walArchive, gone), aside);
    try {
      const dir = await mkdtemp(join(root, 'drill-'));
      const result = await runStepDrill({
        config: config(),
        mode: 'local',
        recovery: engine.recovery,
        instanceUrl: (id) => engine.instanceUrl(id),
        app,
        adminPassword: PASSWORD,
        dir,
        input: { reason: 'archive with a gap' },
      });
      expect(result.failed?.step).toBe('restore');
      expect(result.report?.passed).toBe(false);
      expect(result.report?.escalations.map((e) => e.class)).toEqual(['RESTORE_FAILED']);
      expect(JSON.stringify(result.report?.escalations)).toContain(gone);
      expect(result.printed.join('\n')).toContain('RESTORE_FAILED');
      expect(await instances()).toEqual([]);
    } finally {
      await rename(aside, join(engine.paths.walArchive, gone));
    }
  }, 120_000);

  it('restores every committed row to latest once the archive is whole again', async () => {
    const instance = await restoreLatest('whole');
    expect(instance.status).toBe('available');
    const url = (await engine.instanceUrl('whole')) as string;
    expect(await criticalRows(url)).toEqual(await criticalRows(sourceUrl));
    await engine.recovery.deleteInstance('whole');
  });
});
