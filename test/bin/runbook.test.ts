import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

describe('runbook command', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'runbook-'));
    writeFileSync(
      join(dir, 'drill.json'),
      JSON.stringify({
        source: { dbInstanceIdentifier: 'bt-cts-db', region: 'eu-west-1' },
        isolation: { copyRegion: 'eu-central-1' },
        targets: { rpoMinutes: 15, rtoMinutes: 25 },
        app: { migrateCommand: 'make migrate' },
      }),
    );
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the runbook of the given configuration file', async () => {
    const { io, out } = capturedIo(dir);
    expect(await main(['runbook', '--config', 'drill.json'], io)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('Target RPO: at most 15 minutes');
    expect(text).toContain('Target RTO: at most 25 minutes');
    expect(text).toContain('`make migrate`');
    expect(text).toContain('## Failure Escalation');
  });

  it('exits 2 naming the file when the configuration is missing', async () => {
    const { io, err } = capturedIo(dir);
    expect(await main(['runbook', '--config', 'missing.json'], io)).toBe(2);
    expect(err.join('\n')).toContain('missing.json');
  });
});
