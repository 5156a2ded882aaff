/**
 * Which app the local source plays: the origin a source is made from (the example app, or an app
 * checkout with its own commands), and the check that a configuration naming another one is refused.
 */
import { InputError } from '../core/errors.ts';
import type { SourceOptions, SourceOrigin, SourceRecord } from './source.ts';
import type { StatePaths } from './state.ts';

/** Where a source made with these options takes its schema and data from (recorded as its `origin`). */
export function originOf(options: SourceOptions): SourceOrigin {
  return options.app
    ? {
        kind: 'app',
        repoPath: options.app.repoPath,
        migrateCommand: options.app.migrateCommand,
        seedCommand: options.app.seedCommand,
      }
    : { kind: 'example' };
}

function describeOrigin(origin: SourceOrigin): string {
  return origin.kind === 'example'
    ? "the example app's built-in provisioner"
    : `the app in ${origin.repoPath} (\`${origin.migrateCommand}\`, then \`${origin.seedCommand}\`)`;
}

/**
 * A source provisioned for one app never silently plays production for another: drilling the real
 * app against the example's data (or the other way round) would prove nothing.
 */
export function checkOrigin(paths: StatePaths, record: SourceRecord, options: SourceOptions): void {
  const had = record.origin ?? { kind: 'example' };
  const wanted = originOf(options);
  const same =
    had.kind === wanted.kind &&
    (had.kind === 'example' || (wanted.kind === 'app' && had.repoPath === wanted.repoPath));
  if (same) return;
  throw new InputError(
    'local.source',
    wanted.kind === 'app' ? { kind: 'app', repoPath: wanted.repoPath } : { kind: 'example' },
    `the source the configuration names; the source in ${paths.root} was provisioned from ${describeOrigin(had)}. ` +
      'Point local.stateDir at another folder, or remove this one (its backups and archived WAL go with it) to provision a new source',
  );
}
