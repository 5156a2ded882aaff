/**
 * The local engine's repositories: the primary one in the state folder and the isolated copy
 * (`local.isolatedDir`), with one layout, and the views of the state folder that read one of them.
 */
import { join } from 'node:path';
import type { StatePaths } from './state.ts';

/**
 * A repository: full backups and the WAL archive (with its per-segment index and the coverage
 * marks). The state folder holds the primary one; `local.isolatedDir` the isolated copy, with the
 * same layout, so the same restore, coverage and retention code reads either (given as the
 * `backups`/`walArchive`/`walIndex`/`walCoverage` of a {@link StatePaths} view: {@link repositoryView}).
 */
export interface Repository {
  /** The folder holding it: the state folder, or the isolated copy's. */
  readonly dir: string;
  readonly backups: string;
  readonly walArchive: string;
  readonly walIndex: string;
  readonly walCoverage: string;
}

/** The repository layout under `dir`. */
export function repositoryAt(dir: string): Repository {
  return {
    dir,
    backups: join(dir, 'backups'),
    walArchive: join(dir, 'wal-archive'),
    walIndex: join(dir, 'wal-index.json'),
    walCoverage: join(dir, 'wal-coverage.json'),
  };
}

/** Which repository a view reads: the state folder's own, or the isolated copy. */
export type RepositoryName = 'primary' | 'isolated';

/**
 * The same state folder reading the backups and the WAL of one repository: given to the restore,
 * the coverage and the retention code, which then read only that one.
 * @throws Error when the isolated copy is asked for and none is configured.
 */
export function repositoryView(paths: StatePaths, name: RepositoryName): StatePaths {
  const repository = name === 'primary' ? paths.primary : paths.isolated;
  if (!repository) throw new Error(`${paths.root} has no isolated copy configured (local.isolatedDir)`);
  const { dir: _dir, ...fields } = repository;
  return { ...paths, ...fields, repository: name };
}

/** Every repository of the state folder: the primary one, then the isolated copy. */
export function repositoriesOf(paths: StatePaths): { name: RepositoryName; repository: Repository }[] {
  return [
    { name: 'primary' as const, repository: paths.primary },
    ...(paths.isolated ? [{ name: 'isolated' as const, repository: paths.isolated }] : []),
  ];
}
