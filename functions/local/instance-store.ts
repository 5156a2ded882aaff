/**
 * The restored instances of the local engine, one folder each under `instances/`: its record
 * (`instance.json`, no secrets), its data dir and its server log. Reading a record checks that
 * what it says still holds (its restore's process, its server); removing an instance stops its
 * server first, found by the registry or by its `postmaster.pid`.
 */
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import {
  DRILL_ID_TAG,
  type InstanceDescription,
  type InstanceStatus,
  type RestorePointSource,
} from '../drill/ports/database-recovery.ts';
import type { CoverageMark } from './archive.ts';
import { stopServer } from './cluster.ts';
import { isProcessAlive, readPostmasterPid } from './processes.ts';
import { listProcesses, type StatePaths, stopRegistered } from './state.ts';
import { readJson, writeJson } from './state-json.ts';

/** A drill id that is safe as a folder name (what `newDrillId` makes, and execution names allow). */
export const IDENTIFIER_SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

/** RDS-like identifiers: a letter, then letters, digits and single hyphens; at most 63 characters. */
export const IDENTIFIER = /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$/;

/** The identifier, or an InputError naming the field and the value. */
export function checkIdentifier(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > 63 || !IDENTIFIER.test(value) || value.endsWith('-')) {
    throw new InputError(
      field,
      value,
      'an identifier of 1-63 letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
    );
  }
  return value;
}

/** A copy of string tags, or an InputError naming the tag. */
export function checkTags(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError('tags', value, 'an object of string tags');
  for (const [key, tag] of Object.entries(value)) {
    if (typeof tag !== 'string') throw new InputError(`tags.${key}`, tag, 'a string');
  }
  return { ...(value as Record<string, string>) };
}

/** What is known about one restored instance (`instances/<id>/instance.json`; no secrets). */
export interface InstanceRecord {
  readonly id: string;
  readonly tags: Record<string, string>;
  readonly status: InstanceStatus;
  readonly targetTime: string | null;
  /** P, known when the restore was requested (see {@link RestorePointSource}). */
  readonly restorePointAt: string | null;
  readonly restorePointSource?: RestorePointSource | null;
  /** The WAL switch whose archived segment the coverage ended at, when it did. */
  readonly coverageMark?: CoverageMark | null;
  /** The last commit recovery replayed (informational: a quiet source's is long before P). */
  readonly lastReplayedCommitAt?: string | null;
  readonly failureReason: string | null;
  readonly backupId: string;
  readonly port: number | null;
  readonly pid: number | null;
  /** The process restoring it while `creating`: a dead owner means the restore was interrupted. */
  readonly ownerPid: number | null;
  readonly createdAt: string;
  readonly availableAt: string | null;
  /** Where a restore's time went, in ms: for the RTO breakdown and the benchmark. */
  readonly timings?: { check: number; verifiedCopy: number; recovery: number; confirm: number };
}

/** The instances under one state folder. */
export class InstanceStore {
  constructor(private readonly paths: StatePaths) {}

  /** The instance's folder: `instances/<id>/` (its data dir, its log, its record). */
  dir(id: string): string {
    return join(this.paths.instances, id);
  }

  /** Every instance folder's id, sorted. */
  async ids(): Promise<string[]> {
    try {
      return (await readdir(this.paths.instances, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  /**
   * The instance's record, with what its processes say now: a restore whose process ended, a
   * server that is gone, is failed. Null when there is none.
   * @throws DamagedStateError when the record cannot be read.
   */
  async read(id: string): Promise<InstanceRecord | null> {
    const record = await readJson<InstanceRecord>(
      join(this.dir(id), 'instance.json'),
      `instance ${id} cannot be described; \`recovery-drill local cleanup\` removes it (its server is found by its data dir)`,
    );
    if (!record) return null;
    if (record.status === 'creating' && record.ownerPid !== null && !isProcessAlive(record.ownerPid))
      return {
        ...record,
        status: 'failed',
        failureReason: `restore interrupted: process ${record.ownerPid} ended`,
      };
    if (record.status === 'available' && (record.pid === null || !isProcessAlive(record.pid)))
      return { ...record, status: 'failed', failureReason: 'the restored server is no longer running' };
    return record;
  }

  write(record: InstanceRecord): Promise<void> {
    return writeJson(join(this.dir(record.id), 'instance.json'), record);
  }

  /** Stops an instance's server (found by registry or by its postmaster.pid) and removes its files. */
  async remove(id: string): Promise<void> {
    const dir = this.dir(id);
    const dataDir = join(dir, 'data');
    for (const entry of await listProcesses(this.paths)) {
      if (entry.kind === 'instance' && entry.id === id) await stopRegistered(this.paths, entry);
    }
    const pid = readPostmasterPid(dataDir)?.pid;
    if (pid) await stopServer(pid, dataDir);
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }

  /**
   * Before a failed restore's instance goes, its server log (the FATAL line that says why) is
   * kept in its drill's folder, `drills/<drill id>/restore-postgres.log`: the report's evidence.
   * @returns where it was kept, or null (not failed, no log, no drill).
   */
  async keepEvidence(instanceId: string, record: InstanceRecord | null): Promise<string | null> {
    const drillId = record?.tags[DRILL_ID_TAG];
    if (record?.status !== 'failed' || !drillId || !IDENTIFIER_SAFE.test(drillId)) return null;
    const log = join(this.dir(instanceId), 'postgres.log');
    if (
      !(await stat(log).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      return null;
    const dir = join(this.paths.drills, drillId);
    await mkdir(dir, { recursive: true });
    const kept = join(dir, 'restore-postgres.log');
    await copyFile(log, kept);
    return kept;
  }
}

/** The port's description of an instance, from its record. */
export function toDescription(record: InstanceRecord): InstanceDescription {
  return {
    id: record.id,
    status: record.status,
    endpoint:
      record.status === 'available' && record.port !== null ? { host: '127.0.0.1', port: record.port } : null,
    tags: record.tags,
    targetTime: record.targetTime,
    restorePointAt: record.restorePointAt,
    restorePointSource: record.restorePointSource ?? null,
    failureReason: record.failureReason,
    sourceBackup: record.backupId,
  };
}
