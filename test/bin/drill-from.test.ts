import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { CommandIo } from '../../bin/commands/types.ts';

function capturedIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd };
  return { io, out, err };
}

describe('drill --local --from', () => {
  let dir: string;
  const run = async (...args: string[]) => {
    const { io, out, err } = capturedIo(dir);
    const code = await main(['drill', '--local', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drill-from-'));
    writeFileSync(
      join(dir, 'recovery-drill.config.json'),
      JSON.stringify({
        source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
        isolation: { copyRegion: 'eu-central-1' },
        local: { stateDir: 'state' },
      }),
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const from of ['isolated-region', 'isolated-snapshot', 'copy', '']) {
    it(`refuses ${JSON.stringify(from)} with exit 2 naming from and the value, creating nothing`, async () => {
      const { code, out, err } = await run('--from', from);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toContain(
        `from: one of "source", "isolated" (where the local engine's drill takes its data from); got ${JSON.stringify(from)}`,
      );
      expect(existsSync(join(dir, 'state'))).toBe(false);
    });
  }
});
