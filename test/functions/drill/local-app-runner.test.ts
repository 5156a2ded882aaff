/**
 * The local app runner proves the app it started is the one listening: a real child process is
 * started with the drill's start command, and a real HTTP server of this test takes the app's port
 * first, as another drill's app (or anything) could between the runner's free-port check and the
 * app's own listen. The checks must never talk to that stranger.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAppRunner } from '../../../functions/drill/adapters/local/app-runner.ts';
import type { DrillSecretStore } from '../../../functions/drill/ports/drill-deps.ts';
import { freePort } from '../../../functions/local/cluster.ts';
import { statePathsAt } from '../../../functions/local/state.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The app: an HTTP server answering "ours" on $PORT, listening after `delayMs`. */
const appCommand = (delayMs: number) =>
  `node -e "setTimeout(() => require('http').createServer((q, r) => r.end('ours')).listen(Number(process.env.PORT), '127.0.0.1'), ${delayMs})"`;

describe('local app runner', () => {
  let root: string;
  const servers: Server[] = [];
  /** Only the call the runner makes: the restored database's URL for the app's environment. */
  const secrets = {
    connectionUrl: async () => 'postgres://drill@127.0.0.1:1/btcts',
  } as unknown as DrillSecretStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recovery-drill-app-runner-'));
  });

  afterAll(async () => {
    for (const server of servers) await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  function runner(port: number, startCommand: string) {
    return new LocalAppRunner({
      paths: statePathsAt(join(root, 'state')),
      appRoot: root,
      migrateCommand: 'true',
      startCommand,
      secrets,
      port,
      listenTimeoutSeconds: 20,
    });
  }

  it('returns the app it started once that app listens', async () => {
    const port = await freePort();
    const apps = runner(port, appCommand(200));
    try {
      const app = await apps.start('d-ours', 'secret-ref');
      expect(app.baseUrl).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(app.baseUrl)).text()).toBe('ours');
    } finally {
      await apps.stopAll('d-ours');
    }
  });

  it('never takes a stranger that listens on the port first for the app: it starts the app again on a free port', async () => {
    const port = await freePort();
    const apps = runner(port, appCommand(1500));
    const starting = apps.start('d-stranger', 'secret-ref');
    // Once the app process is registered (the free-port check is behind it), take its port.
    const processes = join(root, 'state', 'processes');
    const deadline = Date.now() + 10_000;
    while (!safeList(processes).some((f) => f.includes('d-stranger-app'))) {
      if (Date.now() > deadline) throw new Error('the app was never registered');
      await sleep(10);
    }
    const stranger = createServer((_q, r) => r.end('stranger'));
    servers.push(stranger);
    await new Promise<void>((r) => stranger.listen(port, '127.0.0.1', () => r()));
    try {
      // The app dies of the taken port; the runner starts it again on a free one and proves it.
      const app = await starting;
      expect(app.baseUrl).not.toBe(`http://127.0.0.1:${port}`);
      expect(app.note).toMatch(new RegExp(`^app.port ${port} is busy: PORT=\\d+$`));
      expect(await (await fetch(app.baseUrl)).text()).toBe('ours');
      expect(await (await fetch(`http://127.0.0.1:${port}`)).text()).toBe('stranger');
    } finally {
      await apps.stopAll('d-stranger');
    }
  }, 30_000);
});

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
