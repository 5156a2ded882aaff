/**
 * `local cleanup`: stops and removes what the local engine left behind (restored instances, stray
 * registered processes, leftover drill secrets, backups interrupted half way), and never what a
 * running drill still uses unless forced.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DRILL_ID_TAG } from '../drill/ports/database-recovery.ts';
import { deleteBackup, listBackups } from './backup.ts';
import type { InstanceRecord, InstanceStore } from './instance-store.ts';
import { deleteIsolatedBackup } from './isolated-copy.ts';
import { liveDrills } from './lock.ts';
import { runningSource } from './source.ts';
import {
  type DamagedEntry,
  type ProcessEntry,
  readRegistry,
  type StatePaths,
  stopRegistered,
} from './state.ts';
import { DamagedStateError } from './state-json.ts';

export interface CleanupOptions {
  /** Remove an instance (and stop the processes, remove the secret) of a drill that is still running. */
  readonly force?: boolean;
}

export interface CleanupResult {
  readonly instances: string[];
  /** Instances left alone: their drill (or restore) is still running. */
  readonly skipped: { readonly id: string; readonly why: string }[];
  readonly processes: ProcessEntry[];
  /** Registry entries that were not (or no longer) our processes: removed, not signalled. */
  readonly stale: { readonly entry: ProcessEntry; readonly why: string }[];
  /** Registry files that were not entries: removed, nothing signalled. */
  readonly damaged: DamagedEntry[];
  /** Drills whose leftover secret file (`drills/<id>/secret.json`) was removed. */
  readonly secrets: string[];
  /** Server logs of failed restores kept in their drill's evidence folder before the instance went. */
  readonly evidence: string[];
  readonly backups: string[];
}

/**
 * Stops and removes every restored instance and every stray registered process (an app a drill
 * started, a writer without its source), removes leftover drill secrets and backups interrupted
 * half way; keeps the source and its backups. An instance whose drill (or restore) is still
 * running is left alone unless `force`. A registry entry that is not proven to be our process is
 * removed without a signal ("stale entry, not signalled"); a damaged one too.
 */
export async function cleanupLocal(
  paths: StatePaths,
  store: InstanceStore,
  options: CleanupOptions = {},
): Promise<CleanupResult> {
  const force = options.force === true;
  const live = await liveDrills(paths);
  const instances: string[] = [];
  const skipped: { id: string; why: string }[] = [];
  const evidence: string[] = [];
  for (const id of await store.ids()) {
    let record: InstanceRecord | null = null;
    try {
      record = await store.read(id);
    } catch (error) {
      // A damaged record: the instance is removed all the same (its server is found by its data dir).
      if (!(error instanceof DamagedStateError)) throw error;
    }
    const drillId = record?.tags[DRILL_ID_TAG];
    const owner = drillId ? live.get(drillId) : undefined;
    const restoring = record?.status === 'creating' && record.ownerPid !== null;
    if (!force && (owner || restoring)) {
      skipped.push({
        id,
        why: owner
          ? `its drill ${drillId} is running (pid ${owner.pid}, since ${owner.acquiredAt})`
          : `a restore into it is running (pid ${record?.ownerPid})`,
      });
      continue;
    }
    const kept = await store.keepEvidence(id, record);
    if (kept) evidence.push(kept);
    await store.remove(id);
    instances.push(id);
  }
  // A damaged source record must not stop the writers of a source that may well be running.
  const sourceRunning = await runningSource(paths).then(
    (source) => source !== null,
    (error: unknown) => {
      if (error instanceof DamagedStateError) return true;
      throw error;
    },
  );
  const registry = await readRegistry(paths);
  for (const file of registry.damaged) await rm(file.file, { force: true });
  const left = new Set(skipped.map((s) => s.id));
  const liveDrill = (entry: ProcessEntry) =>
    entry.drillId ? live.has(entry.drillId) : [...live.keys()].some((id) => entry.id.startsWith(`${id}-`));
  const stopped: ProcessEntry[] = [];
  const stale: { entry: ProcessEntry; why: string }[] = [];
  for (const entry of registry.entries) {
    if (entry.kind === 'source') continue;
    // The source's companions stay with it: its writes, and its heartbeat (the drills' proof of P).
    if ((entry.kind === 'trickle' || entry.kind === 'heartbeat') && sourceRunning) continue;
    if (entry.kind === 'instance' && left.has(entry.id)) continue;
    if (entry.kind === 'app' && !force && liveDrill(entry)) continue;
    const outcome = await stopRegistered(paths, entry);
    if (outcome.outcome === 'stopped') stopped.push(entry);
    else stale.push({ entry, why: outcome.why });
  }
  const secrets: string[] = [];
  for (const drillId of await readdir(paths.drills).catch(() => [] as string[])) {
    if (!force && live.has(drillId)) continue;
    const secret = join(paths.drills, drillId, 'secret.json');
    if (!existsSync(secret)) continue;
    await rm(secret, { force: true });
    secrets.push(drillId);
  }
  const backups: string[] = [];
  for (const backup of await listBackups(paths)) {
    if (backup.status === 'failed') {
      await deleteBackup(paths, backup.id);
      // And whatever of it reached the isolated copy (an interrupted copy waits in incoming/).
      await deleteIsolatedBackup(paths, backup.id);
      backups.push(backup.id);
    }
  }
  return {
    instances,
    skipped,
    processes: stopped,
    stale,
    damaged: registry.damaged,
    secrets,
    evidence,
    backups,
  };
}
