import { describe, expect, it } from 'vitest';
import {
  type AppliedMigration,
  describeDrift,
  detectDrift,
  type ExpectedMigration,
  migrationsFromManifest,
} from '../../functions/core/drift.ts';

const applied = (name: string, checksum: string, over: Partial<AppliedMigration> = {}): AppliedMigration => ({
  migrationName: name,
  checksum,
  finishedAt: '2026-11-01T00:00:00.000Z',
  rolledBackAt: null,
  ...over,
});
const shipped = (name: string, checksum: string): ExpectedMigration => ({ migrationName: name, checksum });

describe('schema drift', () => {
  it('finds nothing when every shipped migration is applied unchanged', () => {
    const drift = detectDrift(
      [applied('001_init', 'a'), applied('002_x', 'b')],
      [shipped('001_init', 'a'), shipped('002_x', 'b')],
    );
    expect(drift).toMatchObject({
      pending: [],
      failed: [],
      modified: [],
      unknown: [],
      needsMigrate: false,
      blocking: false,
    });
    expect(describeDrift(drift)).toMatch(/no drift/);
  });

  it('lists shipped migrations that were never applied as pending, in order', () => {
    const drift = detectDrift(
      [applied('001_init', 'a')],
      [shipped('003_z', 'c'), shipped('001_init', 'a'), shipped('002_y', 'b')],
    );
    expect(drift.pending).toEqual(['002_y', '003_z']);
    expect(drift.needsMigrate).toBe(true);
    expect(drift.blocking).toBe(false);
  });

  it('finds a migration edited after it was applied, which Prisma itself does not notice', () => {
    const drift = detectDrift([applied('001_init', 'a')], [shipped('001_init', 'a2')]);
    expect(drift.modified).toEqual([{ name: '001_init', applied: 'a', shipped: 'a2' }]);
    expect(drift.blocking).toBe(true);
    expect(describeDrift(drift)).toMatch(/modified after applied \(001_init\)/);
  });

  it('treats an unfinished, not rolled back migration as failed and blocking', () => {
    const drift = detectDrift([applied('001_init', 'a', { finishedAt: null })], [shipped('001_init', 'a')]);
    expect(drift.failed).toEqual(['001_init']);
    expect(drift.blocking).toBe(true);
  });

  it('ignores rolled-back rows and lets a finished retry win over a failed attempt', () => {
    const drift = detectDrift(
      [
        applied('001_init', 'a', { finishedAt: null, rolledBackAt: '2026-11-01T00:00:00Z' }),
        applied('002_y', 'b', { finishedAt: null }),
        applied('002_y', 'b'),
      ],
      [shipped('001_init', 'a'), shipped('002_y', 'b')],
    );
    expect(drift).toMatchObject({ pending: ['001_init'], failed: [], modified: [] });
  });

  it('lists applied migrations the app does not ship as unknown without blocking', () => {
    const drift = detectDrift(
      [applied('001_init', 'a'), applied('099_hotfix', 'z')],
      [shipped('001_init', 'a')],
    );
    expect(drift.unknown).toEqual(['099_hotfix']);
    expect(drift.blocking).toBe(false);
  });

  it('reads the shipped migrations from an artifacts manifest', () => {
    const files = [
      { path: 'apps/api/prisma/migrations/20260101000000_init/migration.sql', sha256: 'a' },
      { path: 'apps/api/prisma/migrations/migration_lock.toml', sha256: 'x' },
      { path: 'apps/api/prisma/schema.prisma', sha256: 'y' },
      { path: 'apps/api/prisma/migrations/20260201000000_add/migration.sql', sha256: 'b' },
    ];
    expect(migrationsFromManifest(files, 'apps/api/prisma/migrations/')).toEqual([
      { migrationName: '20260101000000_init', checksum: 'a' },
      { migrationName: '20260201000000_add', checksum: 'b' },
    ]);
  });
});
