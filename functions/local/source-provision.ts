/**
 * Provisioning a fresh source: the example app's provisioner, or the app's own migrate and seed
 * commands, with a failure that names the command, how it ended and the last lines of its log.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeExit, formatTail } from '../core/command.ts';
import { ClusterError } from './binaries.ts';
import { PROJECT_ROOT } from './detached.ts';
import { runLogged, urlPassword } from './logged-command.ts';
import type { AppSourceSpec, Provisioner } from './source.ts';
import { appCommandEnv } from './source-companions.ts';
import type { StatePaths } from './state.ts';

/** A migrate or seed command of the source failed: the command, how it ended and the last lines of its log. */
export class SourceCommandError extends Error {
  readonly logFile: string;

  constructor(what: string, command: string, cwd: string, detail: string, logFile: string) {
    super(`local source: the ${what} command \`${command}\` (in ${cwd}) ${detail}`);
    this.name = 'SourceCommandError';
    this.logFile = logFile;
  }
}

const PROVISION_MODULE = join(PROJECT_ROOT, 'examples', 'bt-cts', 'apps', 'api', 'src', 'provision.ts');

/** The example app's `provisionSource`, loaded when a source is made. */
export async function defaultProvisioner(): Promise<Provisioner> {
  if (!existsSync(PROVISION_MODULE))
    throw new ClusterError(`the example app's ${PROVISION_MODULE} is missing`);
  // tsImport, not import(): the built CLI (dist/cli) runs without a TypeScript loader.
  const { tsImport } = await import('tsx/esm/api');
  const mod = (await tsImport(pathToFileURL(PROVISION_MODULE).href, import.meta.url)) as {
    provisionSource?: Provisioner;
  };
  if (typeof mod.provisionSource !== 'function')
    throw new ClusterError(`${PROVISION_MODULE} does not export provisionSource`);
  return mod.provisionSource;
}

/** Runs the app's migrate command, then its seed command, on the fresh database; throws naming the one that failed. */
export async function provisionByCommands(
  paths: StatePaths,
  app: AppSourceSpec,
  url: string,
  adminPassword: string,
): Promise<void> {
  const env = {
    ...appCommandEnv(app.env, url),
    [app.adminUsernameEnv]: app.adminUsername,
    [app.adminPasswordEnv]: adminPassword,
  };
  const steps = [
    ['migrate', app.migrateCommand, 'app.migrateCommand'],
    ['seed', app.seedCommand, 'local.source.seedCommand'],
  ] as const;
  for (const [what, command, field] of steps) {
    const logFile = join(paths.sourceDir, `${what}.log`);
    let result: Awaited<ReturnType<typeof runLogged>>;
    try {
      result = await runLogged({
        command,
        cwd: app.repoPath,
        env,
        logFile,
        secrets: [...urlPassword(url), adminPassword],
      });
    } catch (error) {
      throw new SourceCommandError(
        what,
        command,
        app.repoPath,
        `could not be started (${field}): ${(error as Error).message}`,
        logFile,
      );
    }
    if (result.code !== 0)
      throw new SourceCommandError(
        what,
        command,
        app.repoPath,
        `${describeExit(result)} (${field}); the half-made source was stopped and is made anew on the next start. ${formatTail(logFile, result.tail)}`,
        logFile,
      );
  }
}
