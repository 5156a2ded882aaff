/**
 * The local adapter of the database-recovery port: an embedded PostgreSQL *source* with WAL
 * archiving plays the RDS instance, full physical backups play snapshots, and a point-in-time
 * restore replays the archive into a fresh cluster on a free port. Same contract as RDS: bad input
 * is refused before anything is created, a restore that cannot reach its target fails loudly
 * instead of stopping at an earlier point, and a drill may delete only what it tagged as its own.
 *
 * It offers what the drill's steps call (and the connection URLs the local secret store needs);
 * the source, the backups, the status and cleanup are the engine's (`engine.ts`), the restore
 * itself `restore.ts`'s, the instances' records `instance-store.ts`'s.
 */
import type { Config } from '../core/config.ts';
import {
  type DatabaseRecoveryPort,
  DRILL_ID_TAG,
  type InstanceDescription,
  NotADrillInstanceError,
  NotFoundError,
  type RestoreRequest,
} from '../drill/ports/database-recovery.ts';
import { listBackupsChecked } from './backup.ts';
import { SUPERUSER } from './binaries.ts';
import { checkIdentifier, IDENTIFIER, InstanceStore, toDescription } from './instance-store.ts';
import { isolatedCopyProblem } from './isolated-copy.ts';
import { type RepositoryName, repositoryView } from './repositories.ts';
import { LocalRestore } from './restore.ts';
import { readCredentials } from './source.ts';
import { type StatePaths, statePaths } from './state.ts';

/** The drill's database-recovery port over one local state folder. */
export class LocalRecovery implements DatabaseRecoveryPort {
  readonly paths: StatePaths;
  /** The restored instances' records (the engine's status and cleanup read them too). */
  readonly instances: InstanceStore;
  private readonly restore: LocalRestore;

  /**
   * @param options.repository the repository restores read (default the primary one): `isolated`
   *   restores from the isolated copy alone, the primary's backups and archive never read.
   */
  constructor(options: {
    readonly config: Config;
    readonly baseDir: string;
    readonly repository?: RepositoryName;
  }) {
    this.paths = repositoryView(statePaths(options.config, options.baseDir), options.repository ?? 'primary');
    this.instances = new InstanceStore(this.paths);
    this.restore = new LocalRestore(this.paths, options.config, this.instances);
  }

  /** Password of the example app's admin user on the source (and so on every restored copy). */
  async adminPassword(): Promise<string | null> {
    return (await readCredentials(this.paths))?.adminPassword ?? null;
  }

  /** Connection URL of a restored instance. Holds the password: never log it. */
  async instanceUrl(instanceId: string, database?: string): Promise<string | null> {
    const record = await this.instances.read(instanceId);
    const credentials = await readCredentials(this.paths);
    if (record?.status !== 'available' || record.port === null || !credentials) return null;
    const name = encodeURIComponent(database ?? credentials.database);
    return `postgres://${SUPERUSER}:${encodeURIComponent(credentials.password)}@127.0.0.1:${record.port}/${name}`;
  }

  /** Damaged backup records, skipped by every listing and restore (see `listBackupsChecked`). */
  async damagedState(): Promise<string[]> {
    const damaged = (await listBackupsChecked(this.paths)).damaged.map((d) => d.message);
    // From the isolated copy: what of it is missing, so the refusal names it.
    const missing = this.paths.repository === 'isolated' ? await isolatedCopyProblem(this.paths) : null;
    return missing ? [missing, ...damaged] : damaged;
  }

  /**
   * Earliest: the end of the oldest backup; latest: the end of the archive's coverage (see
   * `LocalRestore.restorableWindow`).
   */
  restorableWindow(): Promise<{ earliest: Date | null; latest: Date | null }> {
    return this.restore.restorableWindow();
  }

  restoreToPointInTime(request: RestoreRequest): Promise<InstanceDescription> {
    return this.restore.restoreToPointInTime(request);
  }

  async describeInstance(instanceId: string): Promise<InstanceDescription | null> {
    if (typeof instanceId !== 'string' || !IDENTIFIER.test(instanceId)) return null;
    const record = await this.instances.read(instanceId);
    return record ? toDescription(record) : null;
  }

  async deleteInstance(instanceId: string): Promise<void> {
    checkIdentifier('instanceId', instanceId);
    const record = await this.instances.read(instanceId);
    if (!record) throw new NotFoundError('instance', instanceId);
    if (!(DRILL_ID_TAG in record.tags)) throw new NotADrillInstanceError(instanceId);
    await this.instances.keepEvidence(instanceId, record);
    await this.instances.write({ ...record, status: 'deleting' });
    await this.instances.remove(instanceId);
  }
}
