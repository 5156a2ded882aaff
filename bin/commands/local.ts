/**
 * `recovery-drill local ...`: the local engine by hand. The source (an embedded PostgreSQL that
 * archives its WAL and carries the example app's data) is what a local drill restores from;
 * these commands start and stop it, take backups, show what is restorable and clean up.
 */
import type { Config } from '../../functions/core/config.ts';
import { InputError } from '../../functions/core/errors.ts';
import type { CleanupResult } from '../../functions/local/cleanup.ts';
import type { LocalStatus } from '../../functions/local/engine.ts';
import { LocalEngine } from '../../functions/local/engine.ts';
import type { RepositoryStatus } from '../../functions/local/isolated-copy.ts';
import {
  formatPrune,
  formatRetentionStatus,
  type LocalRetentionStatus,
} from '../../functions/local/retention-status.ts';
import { SourceCommandError } from '../../functions/local/source-provision.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { type CommandIo, type CommandRunner, EXIT, type OptionValues, stringOption } from './types.ts';

function engineFor(values: OptionValues, io: CommandIo): { engine: LocalEngine; config: Config } {
  const loaded = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
  return {
    engine: new LocalEngine({
      config: loaded.config,
      baseDir: loaded.baseDir,
      notice: (line) => io.err(line),
    }),
    config: loaded.config,
  };
}

function mib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function iso(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return typeof value === 'string' ? value : value.toISOString();
}

/**
 * The status as a person reads it at 3 a.m.: what runs, what is restorable, what is wrong, and
 * (given `retention`) how big the archive is, how fast it grows and what pruning would remove.
 */
export function formatStatus(status: LocalStatus, retention?: LocalRetentionStatus): string {
  const lines: string[] = [`state: ${status.stateDir}`, ''];
  const source = status.source;
  if (!source) {
    lines.push('source: none (run `recovery-drill local source start`)');
  } else {
    lines.push(
      `source: ${source.running ? `running on 127.0.0.1:${source.port} (pid ${source.pid})` : 'stopped'}, database ${source.database}, created ${source.createdAt}`,
      source.origin?.kind === 'app'
        ? `  provisioned by: \`${source.origin.migrateCommand}\`, then \`${source.origin.seedCommand}\` in ${source.origin.repoPath}`
        : "  provisioned by: the example app's built-in provisioner",
      `  ${source.origin?.kind === 'app' ? 'traffic command' : 'trickle writer'}: ${source.trickle ? (source.trickleRunning ? 'running' : 'not running') : 'off'}`,
    );
    if (status.archiver && status.archiver.failedCount > 0) {
      lines.push(
        `  WARNING: archiving failed ${status.archiver.failedCount} time(s), last ${status.archiver.lastFailedWal} at ${status.archiver.lastFailedAt}: see ${status.stateDir}/source/postgres.log`,
      );
    }
  }
  lines.push('', `backups: ${status.backups.length}`);
  for (const b of status.backups) {
    lines.push(
      `  ${b.id}  ${b.status}  started ${b.startedAt}  ended ${iso(b.stoppedAt)}  ${mib(b.sizeBytes)}${b.failureReason ? `  (${b.failureReason})` : ''}`,
    );
  }
  const a = status.archive;
  lines.push(
    '',
    `archived WAL: ${a.segments} segment(s), ${mib(a.bytes)}${a.segments > 0 ? `, ${a.oldest} .. ${a.newest}` : ''}`,
    ...(retention ? formatRetentionStatus(retention) : []),
    `  newest archived commit: ${iso(a.lastCommitAt)}${a.lastCommitSegment ? ` (in ${a.lastCommitSegment})` : ''}`,
    '',
    `restorable: earliest ${iso(status.window.earliest)}, latest ${iso(status.window.latest)}`,
    '',
    ...formatRepositories(status.repositories),
  );
  if (status.problems.length > 0) {
    lines.push('', `damaged state: ${status.problems.length} file(s)`);
    for (const problem of status.problems) lines.push(`  WARNING: ${problem}`);
  }
  if (status.instances.length > 0) {
    lines.push(
      '',
      `restored instances: ${status.instances.length} (remove with \`recovery-drill local cleanup\`)`,
    );
    for (const i of status.instances) {
      lines.push(
        `  ${i.id}  ${i.status}${i.endpoint ? `  127.0.0.1:${i.endpoint.port}` : ''}  target ${i.targetTime ?? 'latest'}  restore point ${iso(i.restorePointAt)}${i.failureReason ? `  (${i.failureReason.split('\n')[0]})` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Both repositories side by side (the state folder's and the isolated copy, `local.isolatedDir`):
 * newest backup, newest archived segment, what each alone can restore, and any gap between them.
 */
export function formatRepositories(repositories: LocalStatus['repositories']): string[] {
  const row = (r: RepositoryStatus) =>
    r.present
      ? [
          `  ${r.name.padEnd(8)} ${r.dir}`,
          `           backups ${r.backups}, newest ${r.newestBackup ? `${r.newestBackup.id} (ended ${iso(r.newestBackup.stoppedAt)})` : '-'}; newest archived segment ${r.archive.newest ?? '-'} (${r.archive.segments} segment(s)); restorable alone: earliest ${iso(r.window.earliest)}, latest ${iso(r.window.latest)}`,
          ...r.problems.map((p) => `           WARNING: ${p}`),
        ]
      : [`  ${r.name.padEnd(8)} ${r.dir}: MISSING`];
  const lines = ['repositories:', ...row(repositories.primary)];
  if (!repositories.isolated) return [...lines, '  isolated  none configured (local.isolatedDir)'];
  lines.push(...row(repositories.isolated));
  if (repositories.gaps.length === 0)
    lines.push('  gap: none (the isolated copy holds what the primary holds)');
  else for (const gap of repositories.gaps) lines.push(`  GAP: ${gap}`);
  return lines;
}

export const localSourceStart: CommandRunner = {
  async run({ values, io }) {
    const { engine } = engineFor(values, io);
    let result: Awaited<ReturnType<LocalEngine['startSource']>>;
    try {
      result = await engine.startSource();
    } catch (error) {
      // A migrate or seed command failed: its command, exit and last lines are the message.
      if (error instanceof SourceCommandError) {
        io.err(`recovery-drill local source start: ${error.message}`);
        return EXIT.failed;
      }
      throw error;
    }
    const what = result.alreadyRunning
      ? 'already running'
      : result.created
        ? 'created, provisioned and started'
        : 'started';
    io.out(`source ${what} on 127.0.0.1:${result.cluster.port} (pid ${result.cluster.pid})`);
    io.out('connection URL: `recovery-drill local source url`; stop: `recovery-drill local source stop`');
    return EXIT.ok;
  },
};

export const localSourceStop: CommandRunner = {
  async run({ values, io }) {
    const { engine } = engineFor(values, io);
    io.out((await engine.stopSource()) ? 'source stopped' : 'source was not running');
    return EXIT.ok;
  },
};

const statusRun: CommandRunner['run'] = async ({ values, io }) => {
  const { engine } = engineFor(values, io);
  const status = await engine.status();
  const retention = await engine.retentionStatus();
  io.out(values.json ? JSON.stringify({ ...status, retention }, null, 2) : formatStatus(status, retention));
  return EXIT.ok;
};

export const localSourceStatus: CommandRunner = { run: statusRun };

export const localSourceUrl: CommandRunner = {
  async run({ values, io }) {
    const { engine } = engineFor(values, io);
    const database = stringOption(values, 'database');
    if (database !== undefined && !/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(database))
      throw new InputError('--database', database, 'a database name');
    const url = await engine.sourceUrl(database);
    if (!url) {
      io.err(
        'recovery-drill local source url: the source is not running (run `recovery-drill local source start`)',
      );
      return EXIT.failed;
    }
    io.out(url);
    return EXIT.ok;
  },
};

function defaultBackupId(now = new Date()): string {
  return `local-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
}

export const localBackup: CommandRunner = {
  async run({ values, io }) {
    const { engine } = engineFor(values, io);
    const id = stringOption(values, 'id') ?? defaultBackupId();
    const started = Date.now();
    const snapshot = await engine.createSnapshot(id, { 'recovery-drill:managed': 'true' });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    io.out(`backup ${snapshot.id} ${snapshot.status}: ${mib(snapshot.sizeBytes)} in ${seconds} s`);
    io.out(await engine.pruneAfterBackup());
    const window = await engine.restorableWindow();
    io.out(`restorable: earliest ${iso(window.earliest)}, latest ${iso(window.latest)}`);
    return EXIT.ok;
  },
};

export const localPrune: CommandRunner = {
  async run({ values, io }) {
    const { engine } = engineFor(values, io);
    const result = await engine.prune({ dryRun: values['dry-run'] === true });
    if (values.json) io.out(JSON.stringify(result, null, 2));
    else {
      for (const line of formatPrune(result)) io.out(line);
      if (result.isolated) {
        io.out('');
        io.out(`isolated copy (${engine.paths.isolated?.dir}):`);
        for (const line of formatPrune(result.isolated)) io.out(`  ${line}`);
      }
      const window = await engine.restorableWindow();
      io.out(`restorable: earliest ${iso(window.earliest)}, latest ${iso(window.latest)}`);
    }
    const failed = [result, ...(result.isolated ? [result.isolated] : [])].some(
      (r) => r.blocked || r.failed.length > 0,
    );
    return failed ? EXIT.failed : EXIT.ok;
  },
};

export const localCleanup: CommandRunner = {
  async run({ values, io }) {
    const { engine } = engineFor(values, io);
    const result = await engine.cleanup({ force: values.force === true });
    for (const line of formatCleanup(result)) io.out(line);
    return EXIT.ok;
  },
};

/** What `local cleanup` did, a line per kind of thing, and what it left alone and why. */
export function formatCleanup(result: CleanupResult): string[] {
  const lines = [
    `removed ${result.instances.length} restored instance(s)${result.instances.length ? `: ${result.instances.join(', ')}` : ''}`,
  ];
  for (const skipped of result.skipped)
    lines.push(`skipped instance ${skipped.id}: ${skipped.why} (--force removes it)`);
  if (result.processes.length > 0)
    lines.push(
      `stopped ${result.processes.length} stray process(es): ${result.processes.map((p) => `${p.kind} ${p.id} (pid ${p.pid})`).join(', ')}`,
    );
  for (const { entry, why } of result.stale)
    lines.push(
      `stale entry, not signalled: ${entry.kind} ${entry.id} (pid ${entry.pid}): ${why}; entry removed`,
    );
  for (const damaged of result.damaged)
    lines.push(`damaged registry file removed, nothing signalled: ${damaged.file} (${damaged.problem})`);
  if (result.secrets.length > 0)
    lines.push(
      `removed leftover drill secret(s): ${result.secrets.map((id) => `drills/${id}/secret.json`).join(', ')}`,
    );
  for (const kept of result.evidence) lines.push(`kept the failed restore's server log: ${kept}`);
  if (result.backups.length > 0) lines.push(`removed interrupted backup(s): ${result.backups.join(', ')}`);
  return lines;
}
