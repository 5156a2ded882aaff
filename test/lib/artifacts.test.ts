import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config.ts';
import { buildManifest, sha256Hex } from '../../functions/shared/checksums.ts';
import { artifactsVersion, copyArtifactsCommands, readAppArtifacts } from '../../lib/artifacts.ts';
import { appFiles, makeConfig, makeTree, refusalOf, removeDir } from './fixtures.ts';

const dirs: string[] = [];
function tree(files: Record<string, string>): string {
  const dir = makeTree(files);
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function refusal(repo: string): ConfigError {
  return refusalOf(ConfigError, () => readAppArtifacts(makeConfig(repo).app, repo));
}

describe('app artifacts', () => {
  it('lists the env template, every migration file and the schema with sizes and SHA-256', () => {
    const repo = tree(appFiles());
    const { manifest, root } = readAppArtifacts(makeConfig(repo).app, repo);
    expect(root).toBe(repo);
    expect(manifest.map((e) => e.path)).toEqual([
      'apps/api/.env.example',
      'apps/api/prisma/migrations/20240101000000_init/migration.sql',
      'apps/api/prisma/migrations/20240201000000_accounts/migration.sql',
      'apps/api/prisma/migrations/migration_lock.toml',
      'apps/api/prisma/schema.prisma',
    ]);
    const schema = appFiles()['apps/api/prisma/schema.prisma'] as string;
    expect(manifest.at(-1)).toEqual({
      path: 'apps/api/prisma/schema.prisma',
      size: Buffer.byteLength(schema),
      sha256: sha256Hex(schema),
    });
  });

  it('computes the same manifest as the asynchronous one the functions use', async () => {
    const repo = tree(appFiles());
    const { manifest } = readAppArtifacts(makeConfig(repo).app, repo);
    expect(manifest).toEqual(
      await buildManifest(
        repo,
        manifest.map((e) => e.path),
      ),
    );
  });

  it('derives the version from the bytes alone: the same files give the same version', () => {
    const first = tree(appFiles());
    const second = tree(appFiles());
    const a = readAppArtifacts(makeConfig(first).app, first);
    const b = readAppArtifacts(makeConfig(second).app, second);
    expect(a.version).toBe(b.version);
    expect(a.version).toBe(artifactsVersion(a.manifest));
  });

  it('changes the version when a migration is edited', () => {
    const repo = tree(appFiles());
    const before = readAppArtifacts(makeConfig(repo).app, repo).version;
    writeFileSync(
      join(repo, 'apps/api/prisma/migrations/20240101000000_init/migration.sql'),
      'DROP TABLE x;\n',
    );
    expect(readAppArtifacts(makeConfig(repo).app, repo).version).not.toBe(before);
  });

  it('resolves a relative repoPath against the configuration folder', () => {
    const repo = tree(appFiles());
    const parent = join(repo, '..');
    const relative = repo.slice(parent.length + 1);
    expect(readAppArtifacts(makeConfig(relative).app, parent).root).toBe(repo);
  });

  it('fails naming app.envExample and its full path when the env template is missing', () => {
    const repo = tree(appFiles());
    rmSync(join(repo, 'apps/api/.env.example'));
    const error = refusal(repo);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('app.envExample');
    expect(error.message).toContain(join(repo, 'apps/api/.env.example'));
  });

  it('reports every missing artifact at once', () => {
    const repo = tree({ 'apps/api/prisma/migrations': 'a file where a folder belongs' });
    const error = refusal(repo);
    expect(error.problems.map((p) => p.path)).toEqual(['app.envExample', 'app.migrationsDir', 'app.schema']);
    expect(error.problems[1]?.expected).toContain('found a file there');
  });

  it('copies every artifact below artifacts/ keeping its path, even with quotes and spaces in names', () => {
    const files = {
      ...appFiles(),
      "apps/api/prisma/migrations/20240301000000_it's a test/migration.sql": 'SELECT 1;\n',
    };
    const repo = tree(files);
    const out = tree({});
    const artifacts = readAppArtifacts(makeConfig(repo).app, repo);
    execFileSync('sh', ['-c', copyArtifactsCommands(artifacts, out).join(' && ')]);
    for (const entry of artifacts.manifest) {
      expect(readFileSync(join(out, 'artifacts', entry.path), 'utf8')).toBe(
        files[entry.path as keyof typeof files],
      );
    }
  });
});
