/**
 * The app's runtime artifacts (`.env.example`, Prisma `migrations/` and `schema.prisma`) as the
 * stack sees them at synth time: which files they are, their SHA-256 manifest, and the version
 * that names them in the backup bucket. A restore proves which migrations belonged to which
 * backup by this version, so it is derived from the bytes alone (no timestamps).
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type Config, ConfigError, type ConfigProblem } from '../functions/core/config.ts';
import {
  buildManifestSync,
  listFilesSync,
  type ManifestEntry,
  sha256Hex,
} from '../functions/shared/checksums.ts';

export interface AppArtifacts {
  /** Absolute folder the artifact paths are relative to (`app.repoPath` resolved). */
  readonly root: string;
  /** Every captured file, sorted by path, paths relative to `root` with `/` separators. */
  readonly manifest: readonly ManifestEntry[];
  /** SHA-256 (hex) of the manifest's JSON: `ARTIFACTS_VERSION` and the `recovery-drill:artifacts` tag. */
  readonly version: string;
}

type Kind = 'file' | 'directory';

function kindOf(path: string): Kind | 'missing' | 'other' {
  try {
    const info = statSync(path);
    if (info.isFile()) return 'file';
    if (info.isDirectory()) return 'directory';
    return 'other';
  } catch {
    return 'missing';
  }
}

/** The version of a manifest: one definition, shared by synth and by anything that verifies it. */
export function artifactsVersion(manifest: readonly ManifestEntry[]): string {
  return sha256Hex(JSON.stringify(manifest));
}

/**
 * Reads the configured artifacts below `app.repoPath` (relative paths resolved against `baseDir`,
 * the configuration file's folder).
 * @throws ConfigError naming each missing artifact's field (`app.envExample` ...) and its path, so
 * synth fails before anything is deployed without the files a restore needs.
 */
export function readAppArtifacts(app: Config['app'], baseDir: string): AppArtifacts {
  const root = isAbsolute(app.repoPath) ? app.repoPath : resolve(baseDir, app.repoPath);
  const wanted: { field: string; path: string; kind: Kind; what: string }[] = [
    { field: 'app.envExample', path: app.envExample, kind: 'file', what: 'the environment template' },
    {
      field: 'app.migrationsDir',
      path: app.migrationsDir,
      kind: 'directory',
      what: 'the Prisma migrations',
    },
    { field: 'app.schema', path: app.schema, kind: 'file', what: 'the Prisma schema' },
  ];
  const problems: ConfigProblem[] = [];
  const files: string[] = [];
  for (const item of wanted) {
    const full = resolve(root, item.path);
    const found = kindOf(full);
    if (found !== item.kind) {
      problems.push({
        path: item.field,
        value: JSON.stringify(item.path),
        expected: `${item.kind === 'file' ? 'a file' : 'a folder'} holding ${item.what} at ${full} (app.repoPath + ${item.field}); found ${found === 'missing' ? 'nothing' : `a ${found}`} there`,
      });
      continue;
    }
    if (item.kind === 'file') files.push(item.path.split('\\').join('/'));
    else {
      const prefix = item.path.split('\\').join('/').replace(/\/+$/, '');
      for (const path of listFilesSync(full)) files.push(`${prefix}/${path}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, 'app artifacts');
  const manifest = buildManifestSync(root, [...new Set(files)]);
  return { root, manifest, version: artifactsVersion(manifest) };
}

/** Quotes a string for a POSIX shell (the bundling hook's commands run in one). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * Shell commands that copy every artifact into `<outputDir>/artifacts/<path>`, keeping relative
 * paths: the artifacts function uploads exactly what the manifest lists, from its own code.
 */
export function copyArtifactsCommands(artifacts: AppArtifacts, outputDir: string): string[] {
  const dirs = new Set<string>();
  const commands: string[] = [];
  for (const entry of artifacts.manifest) {
    const target = `${outputDir}/artifacts/${entry.path}`;
    const dir = target.slice(0, target.lastIndexOf('/'));
    if (!dirs.has(dir)) {
      dirs.add(dir);
      commands.push(`mkdir -p ${shellQuote(dir)}`);
    }
    commands.push(`cp ${shellQuote(resolve(artifacts.root, entry.path))} ${shellQuote(target)}`);
  }
  return commands;
}
