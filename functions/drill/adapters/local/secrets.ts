/**
 * Locally, a 0600 file per drill plays the drill-owned Secrets Manager secret: the connection of
 * the drill database and the smoke checks' login session, removed at cleanup.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalRecovery } from '../../../local/local-recovery.ts';
import type { InstanceDescription } from '../../ports/database-recovery.ts';
import type { ConnectionInfo, DrillSecretStore } from '../../ports/drill-deps.ts';
import { RestoreFailedError, SecretError } from '../../ports/errors.ts';

const PREFIX = 'local-secret:';

/** The 0600 file: the connection URL and, after the login check, the admin's session. */
interface SecretFile {
  url: string;
  session?: string;
}

export class FileSecretStore implements DrillSecretStore {
  constructor(
    private readonly root: string,
    private readonly recovery: Pick<LocalRecovery, 'instanceUrl'>,
  ) {}

  private file(drillId: string): string {
    return join(this.root, 'drills', drillId, 'secret.json');
  }

  static refFor(drillId: string): string {
    return `${PREFIX}${drillId}`;
  }

  async writeConnection(drillId: string, instance: InstanceDescription) {
    const url = await this.recovery.instanceUrl(instance.id);
    if (!url) throw new RestoreFailedError(`no connection for ${instance.id}: it is not available`);
    const parsed = new URL(url);
    const connection: ConnectionInfo = {
      host: parsed.hostname,
      port: Number(parsed.port),
      database: decodeURIComponent(parsed.pathname.slice(1)),
      user: decodeURIComponent(parsed.username),
    };
    await mkdir(join(this.root, 'drills', drillId), { recursive: true });
    await writeFile(this.file(drillId), JSON.stringify({ url }), { mode: 0o600 });
    return { secretRef: FileSecretStore.refFor(drillId), connection };
  }

  /** The secret file's content; the message names the reference, never a value. */
  private async read(secretRef: string): Promise<SecretFile> {
    if (!secretRef.startsWith(PREFIX)) throw new SecretError(`not a local drill secret: ${secretRef}`);
    let value: Partial<SecretFile> | undefined;
    try {
      value = JSON.parse(await readFile(this.file(secretRef.slice(PREFIX.length)), 'utf8')) as SecretFile;
    } catch {
      value = undefined;
    }
    if (typeof value?.url !== 'string') throw new SecretError(`the drill secret ${secretRef} is gone`);
    return value as SecretFile;
  }

  async connectionUrl(secretRef: string): Promise<string> {
    return (await this.read(secretRef)).url;
  }

  async writeSession(secretRef: string, session: string): Promise<void> {
    const value = await this.read(secretRef);
    await writeFile(this.file(secretRef.slice(PREFIX.length)), JSON.stringify({ ...value, session }), {
      mode: 0o600,
    });
  }

  async readSession(secretRef: string): Promise<string | null> {
    const { session } = await this.read(secretRef);
    return typeof session === 'string' ? session : null;
  }

  /** Each local drill has its own secret file: removing it never touches another drill's. */
  async clear(drillId: string): Promise<boolean> {
    await rm(this.file(drillId), { force: true });
    return true;
  }
}
