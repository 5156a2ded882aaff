/**
 * Every failed drill is reported, also where the state machine's own path used to end without a
 * report: a failure in `Validate input` that is not bad input, and a report that cannot be
 * written (the notification still carries it). An error the CLI does not expect is one line a
 * person reads; its stack only with --debug. No PostgreSQL is needed: nothing here is restorable.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../bin/cli.ts';
import { runLocalDrill } from '../../../functions/drill/drivers/local/run.ts';
import { loadConfig } from '../../../functions/shared/config-file.ts';
import { drillDefinition } from '../../../lib/drill/definition.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rd-failed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configAt(name: string, stateDir: string) {
  const committed = JSON.parse(readFileSync(join(REPO, 'recovery-drill.config.json'), 'utf8'));
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      ...committed,
      app: { ...committed.app, repoPath: join(REPO, 'examples', 'bt-cts') },
      local: { stateDir },
    }),
  );
  return loadConfig({ explicitPath: path });
}

async function drillOn(stateDir: string) {
  const loaded = configAt('empty', stateDir);
  const lines: string[] = [];
  const result = await runLocalDrill({
    loaded,
    definition: drillDefinition(loaded.config, loaded.baseDir),
    input: { reason: 'nothing to restore' },
    progress: (line) => lines.push(line),
    notify: (line) => lines.push(`notify: ${line}`),
    skipBackup: true,
  });
  const notifications = readFileSync(join(stateDir, 'notifications.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { kind: string; subject: string; drillId: string });
  return { result, lines, notifications };
}

describe('failed drills are reported', () => {
  it('reports a drill whose Validate input failed for another reason than bad input', async () => {
    const stateDir = join(dir, 'state-validate');
    const { result, notifications } = await drillOn(stateDir);
    expect(result.status).toBe('failed');
    const report = result.report;
    expect(report?.drillId).toBe(result.drillId);
    expect(report?.reason).toBe('nothing to restore');
    expect(report?.steps).toEqual([
      expect.objectContaining({
        name: 'validate',
        outcome: 'failed',
        detail: expect.stringMatching(/^RestoreFailedError: nothing is restorable yet/),
      }),
    ]);
    expect(readFileSync(result.reportFiles?.markdown ?? '', 'utf8')).toMatch(/: FAILED/);
    expect(notifications).toEqual([
      expect.objectContaining({
        kind: 'summary',
        drillId: result.drillId,
        subject: expect.stringMatching(/FAILED/),
      }),
    ]);
  });

  it('still notifies with the report, failed for that reason, when the report cannot be written', async () => {
    const stateDir = join(dir, 'state-unwritable');
    mkdirSync(stateDir, { recursive: true });
    // A file where the reports folder goes: every write into it fails (as a full or read-only disk would).
    writeFileSync(join(stateDir, 'reports'), 'not a folder');
    const { result, notifications } = await drillOn(stateDir);
    expect(result.status).toBe('failed');
    expect(result.reportFiles).toBeNull();
    const step = result.report?.steps.find((s) => s.name === 'report');
    expect(step).toMatchObject({
      outcome: 'failed',
      detail: expect.stringMatching(/^the report could not be written: /),
    });
    expect(result.report?.passed).toBe(false);
    expect(notifications.map((n) => n.kind)).toEqual(['summary']);
  });

  it('prints an unexpected error as one line, the stack only with --debug (exit 1)', async () => {
    // The state folder is a file: reading any state in it fails, not as bad input.
    const stateDir = join(dir, 'state-is-a-file');
    writeFileSync(stateDir, '');
    const config = configAt('file-state', stateDir).path;
    const run = async (...extra: string[]) => {
      const err: string[] = [];
      const code = await main(['local', 'status', '--config', config, ...extra], {
        out: () => undefined,
        err: (t) => err.push(t),
        env: {},
        cwd: dir,
      });
      return { code, err: err.join('\n') };
    };
    const plain = await run();
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/^recovery-drill local status: ENOTDIR: not a directory/);
    expect(plain.err).toContain('(run again with --debug for the stack)');
    expect(plain.err).not.toMatch(/\n\s+at /);
    const debug = await run('--debug');
    expect(debug.code).toBe(1);
    expect(debug.err).toMatch(/\n\s+at /);
  });
});
