/**
 * Throwaway PostgreSQL clusters for tests and benchmarks: a fresh temp dir, a free port, a random
 * password, and a last-resort exit hook so that no server outlives the process that made it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { giveToServer, serverUser } from './binaries.ts';
import { initCluster, randomPassword, type StartedCluster, startCluster } from './cluster.ts';
import { readPostmasterPid } from './processes.ts';

const temporaryClusters = new Map<number, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test file that dies without calling destroy(): an immediate shutdown, so no
  // server outlives it. Synchronous by necessity (the 'exit' event allows nothing else).
  process.on('exit', () => {
    for (const [pid, dataDir] of temporaryClusters) {
      if (readPostmasterPid(dataDir)?.pid === pid) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // already gone
        }
      }
    }
  });
}

/**
 * initdb into a fresh temp dir, start on a free port with password (scram) auth and a random
 * password. For tests and benchmarks: `destroy()` stops the server and removes every file.
 */
export async function createTemporaryCluster(
  options: { settings?: Record<string, string> } = {},
): Promise<StartedCluster & { destroy(): Promise<void> }> {
  const user = await serverUser();
  const root = await mkdtemp(join(tmpdir(), 'recovery-drill-pg-'));
  await giveToServer(root, user);
  const dataDir = join(root, 'data');
  const password = randomPassword();
  try {
    await initCluster({ dataDir, password, settings: options.settings ?? {}, noSync: true });
    const cluster = await startCluster({ dataDir, password, logFile: join(root, 'postgres.log') });
    installExitHook();
    temporaryClusters.set(cluster.pid, dataDir);
    const stop = async () => {
      const stopped = await cluster.stop();
      temporaryClusters.delete(cluster.pid);
      return stopped;
    };
    return {
      dataDir,
      port: cluster.port,
      pid: cluster.pid,
      url: cluster.url,
      stop,
      destroy: async () => {
        await stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
