import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { CommandIo } from '../../bin/commands/types.ts';
import type { RetentionPlan } from '../../functions/core/retention.ts';
import { dailyHistory, managedSnapshot } from '../core/snapshot-factories.ts';

const REPO = resolve(import.meta.dirname, '../..');

function capturedIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd };
  return { io, out, err };
}

/** A configuration with a small policy so plans stay readable. */
const config = (retention: Record<string, unknown> = { daily: 3, monthly: 1, maxDeletionsPerRun: 20 }) => ({
  source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
  isolation: { copyRegion: 'eu-central-1' },
  retention,
});

describe('retention plan command', () => {
  let dir: string;
  const write = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const run = async (args: string[]) => {
    const { io, out, err } = capturedIo(dir);
    const code = await main(['retention', 'plan', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'retention-cli-'));
    write('recovery-drill.config.json', config());
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the plan as JSON with the policy from the configuration', async () => {
    write('snapshots.json', { complete: true, snapshots: dailyHistory('2026-11-01', 10) });
    const { code, out, err } = await run(['--snapshots', 'snapshots.json', '--now', '2026-12-01T00:00:00Z']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const plan = JSON.parse(out) as RetentionPlan;
    expect(plan.blocked).toBeNull();
    expect(plan.keep.map((k) => k.id)).toEqual([
      'snap-2026-11-01-03',
      'snap-2026-11-08-03',
      'snap-2026-11-09-03',
      'snap-2026-11-10-03',
    ]);
    expect(plan.delete).toHaveLength(6);
  });

  it('reads the policy from --config', async () => {
    const path = write('other.json', config({ daily: 1, monthly: 0, maxDeletionsPerRun: 2 }));
    write('snapshots.json', { complete: true, snapshots: dailyHistory('2026-11-01', 10) });
    const { code, out } = await run([
      '--snapshots',
      'snapshots.json',
      '--config',
      path,
      '--now',
      '2026-12-01T00:00:00Z',
    ]);
    expect(code).toBe(0);
    const plan = JSON.parse(out) as RetentionPlan;
    expect(plan.delete.map((d) => d.id)).toEqual(['snap-2026-11-01-03', 'snap-2026-11-02-03']);
    expect(plan.keep[0]?.reasons[0]).toMatch(/^deferred: over maxDeletionsPerRun \(2\)/);
  });

  it('keeps snapshots dated after --now', async () => {
    write('snapshots.json', { complete: true, snapshots: dailyHistory('2026-11-01', 10) });
    const { out } = await run(['--snapshots', 'snapshots.json', '--now', '2026-11-05T12:00:00+01:00']);
    const plan = JSON.parse(out) as RetentionPlan;
    expect(plan.keep.filter((k) => k.reasons.some((r) => r.startsWith('created after now')))).toHaveLength(5);
  });

  it('exits 2 when --snapshots is missing', async () => {
    const { code, err } = await run([]);
    expect(code).toBe(2);
    expect(err).toMatch(/--snapshots: a JSON file with the snapshot listing is required/);
  });

  it('exits 2 naming a file that does not exist', async () => {
    const { code, err } = await run(['--snapshots', 'missing.json']);
    expect(code).toBe(2);
    expect(err).toContain(`--snapshots: no such file "${join(dir, 'missing.json')}"`);
  });

  it('exits 2 naming a file that is not JSON', async () => {
    write('snapshots.json', '{ "complete": true, ');
    const { code, err } = await run(['--snapshots', 'snapshots.json']);
    expect(code).toBe(2);
    expect(err).toMatch(/--snapshots: ".*snapshots\.json" is not valid JSON/);
  });

  it('exits 2 naming the bad field of a bad record', async () => {
    const snapshots = [
      managedSnapshot('a', '2026-11-01T03:00:00Z'),
      managedSnapshot('b', '2026-11-02 03:00'),
    ];
    write('snapshots.json', { complete: true, snapshots });
    const { code, out, err } = await run(['--snapshots', 'snapshots.json']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('snapshots[1].createdAt: an ISO-8601 time with a zone');
    expect(err).toContain('got "2026-11-02 03:00"');
  });

  it('exits 2 naming a bad --now', async () => {
    write('snapshots.json', { complete: true, snapshots: [] });
    const { code, err } = await run(['--snapshots', 'snapshots.json', '--now', 'tomorrow']);
    expect(code).toBe(2);
    expect(err).toContain('--now: expected an ISO-8601 time with a zone');
  });

  it('exits 2 naming a bad retention setting in the configuration', async () => {
    write('recovery-drill.config.json', config({ daily: 0 }));
    write('snapshots.json', { complete: true, snapshots: [] });
    const { code, err } = await run(['--snapshots', 'snapshots.json']);
    expect(code).toBe(2);
    expect(err).toContain('retention.daily');
  });

  it('exits 2 on an unknown option', async () => {
    const { code, err } = await run(['--snapshot', 'x.json']);
    expect(code).toBe(2);
    expect(err).toMatch(/Unknown option '--snapshot'/);
  });

  it('explains itself with --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain(
      'usage: recovery-drill retention plan --snapshots FILE [--now ISO] [--config FILE]',
    );
    expect(out).toContain('--snapshots VALUE');
  });

  it('runs as the installed recovery-drill command', { timeout: 60_000 }, async () => {
    write('snapshots.json', { complete: false, snapshots: dailyHistory('2026-11-01', 10) });
    const { stdout } = await promisify(execFile)(
      'npx',
      [
        'recovery-drill',
        'retention',
        'plan',
        '--snapshots',
        join(dir, 'snapshots.json'),
        '--now',
        '2026-12-01T00:00:00Z',
      ],
      { cwd: REPO, env: { ...process.env, RECOVERY_DRILL_CONFIG: join(dir, 'recovery-drill.config.json') } },
    );
    const plan = JSON.parse(stdout) as RetentionPlan;
    expect(plan.delete).toEqual([]);
    expect(plan.blocked).toMatch(/incomplete/);
    expect(plan.keep).toHaveLength(10);
  });
});
