/** Locally, the migrations "captured with the backup" are the ones the app checkout ships now. */
import { join } from 'node:path';
import { migrationsFromManifest } from '../../../core/drift.ts';
import { buildManifest } from '../../../shared/checksums.ts';
import type { ArtifactSource } from '../../ports/drill-deps.ts';

export class CheckoutArtifactSource implements ArtifactSource {
  constructor(
    private readonly appRoot: string,
    private readonly migrationsDir: string,
  ) {}

  async migrations() {
    const files = await buildManifest(join(this.appRoot, this.migrationsDir));
    const prefixed = files.map((f) => ({ ...f, path: `${this.migrationsDir}/${f.path}` }));
    return {
      migrations: migrationsFromManifest(prefixed, this.migrationsDir),
      source: `${this.migrationsDir} in ${this.appRoot}`,
    };
  }
}
