/** Locally, a 0600 file per drill plays the drill-owned Secrets Manager secret. */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalRecovery } from '../../local/local-recovery.ts';
import type { InstanceDescription } from '../../ports/database-recovery.ts';
import type { ConnectionInfo, DrillSecretStore } from '../ports.ts';
import { DrillStepError } from '../steps.ts';

const PREFIX = 'local-secret:';

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
    if (!url)
      throw new DrillStepError('RestoreFailedError', `no connection for ${instance.id}: it is not available`);
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

  async connectionUrl(secretRef: string): Promise<string> {
    if (!secretRef.startsWith(PREFIX))
      throw new DrillStepError('SecretError', `not a local drill secret: ${secretRef}`);
    try {
      return (
        JSON.parse(await readFile(this.file(secretRef.slice(PREFIX.length)), 'utf8')) as { url: string }
      ).url;
    } catch {
      throw new DrillStepError('SecretError', `the drill secret ${secretRef} is gone`);
    }
  }

  async clear(drillId: string): Promise<void> {
    await rm(this.file(drillId), { force: true });
  }
}
