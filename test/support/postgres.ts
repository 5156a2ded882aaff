/**
 * Process-table checks for tests that start PostgreSQL: other test files (and other people's
 * servers) run beside ours, so a check looks only for servers whose data dir lies below a root
 * that belongs to the test file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { expect } from 'vitest';

/** Pids of live (non-zombie) postgres processes whose command line mentions `fragment`. */
export function postgresProcessesUnder(fragment: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z') continue;
      if (cmdline.includes('postgres') && cmdline.includes(fragment)) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** What {@link disposeEngine} needs of a local engine: its own cleanup and source stop. */
interface DisposableEngine {
  cleanup(): Promise<unknown>;
  stopSource(): Promise<unknown>;
}

/**
 * Ends a test's local engine: removes its restored instances and stops its source (even when the
 * cleanup fails), proves no server of it is left under `root`, then removes the folder.
 */
export async function disposeEngine(engine: DisposableEngine | undefined, root: string): Promise<void> {
  try {
    await engine?.cleanup();
  } finally {
    await engine?.stopSource();
  }
  expect(postgresProcessesUnder(root)).toEqual([]);
  await rm(root, { recursive: true, force: true });
}
