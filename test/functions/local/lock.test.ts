/**
 * The state folder's locks: one owner at a time, a waiter told who holds it, a live owner never
 * robbed, a stale lock (its owner gone, or its pid now another process) taken over. Every process
 * here is one this test started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  acquireLock,
  LockBusyError,
  type LockOwner,
  lockHolder,
  withLock,
} from '../../../functions/local/lock.ts';
import { processStartTicks } from '../../../functions/local/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'rd-lock-'));
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleeper = () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  started.push(child);
  return child;
};

function ownerFile(file: string, owner: Partial<LockOwner> & { pid: number }): void {
  writeFileSync(
    file,
    JSON.stringify({
      processStart: processStartTicks(owner.pid),
      what: 'local source start',
      command: 'node recovery-drill',
      acquiredAt: '2026-11-26T10:00:00.000Z',
      token: 'theirs',
      ...owner,
    }),
  );
}

describe('state folder locks', () => {
  it('lets one holder in at a time and tells a waiter who holds it', async () => {
    const file = join(dir, 'one.lock');
    const order: string[] = [];
    const waited: LockOwner[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        withLock(
          file,
          `writer ${name}`,
          async () => {
            order.push(`${name} in`);
            await new Promise((r) => setTimeout(r, 50));
            order.push(`${name} out`);
          },
          { onWait: (owner) => waited.push(owner) },
        ),
      ),
    );
    // Never two inside at once.
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]?.replace('in', 'out'));
    expect(waited.length).toBeGreaterThan(0);
    expect(waited[0]).toMatchObject({ pid: process.pid, what: expect.stringMatching(/^writer /) });
    expect(existsSync(file)).toBe(false);
  });

  it('waits for a live owner and gives up naming it, without touching it', async () => {
    const file = join(dir, 'busy.lock');
    const owner = sleeper();
    await new Promise((r) => setTimeout(r, 200));
    ownerFile(file, { pid: owner.pid as number });
    const error = await acquireLock(file, 'local cleanup', { waitMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockBusyError);
    expect((error as Error).message).toContain(`held by pid ${owner.pid} (local source start`);
    expect(JSON.parse(readFileSync(file, 'utf8')).token).toBe('theirs');
    expect(owner.exitCode).toBeNull();
    expect(await lockHolder(file)).toMatchObject({ pid: owner.pid });
  });

  it('takes over a lock whose owner ended, and one whose pid now belongs to a later process', async () => {
    const ended = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => ended.once('exit', r));
    const gone = join(dir, 'gone.lock');
    ownerFile(gone, { pid: ended.pid as number, processStart: '1' });
    const reused = join(dir, 'reused.lock');
    const later = sleeper();
    await new Promise((r) => setTimeout(r, 200));
    // Recorded by the pid's previous holder: it started earlier than the process that has it now.
    ownerFile(reused, {
      pid: later.pid as number,
      processStart: String(Number(processStartTicks(later.pid as number)) - 5),
    });
    for (const file of [gone, reused]) {
      expect(await lockHolder(file)).toBeNull();
      const lock = await acquireLock(file, 'local backup', { waitMs: 1000 });
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
        pid: process.pid,
        what: 'local backup',
      });
      await lock.release();
      expect(existsSync(file)).toBe(false);
    }
    expect(later.exitCode).toBeNull();
    expect(later.signalCode).toBeNull();
  });
});
