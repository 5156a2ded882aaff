import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEscalation } from '../../../functions/core/escalations.ts';
import { buildReport, type DrillReport } from '../../../functions/core/report.ts';
import {
  type LocalNotification,
  RecordingNotifier,
} from '../../../functions/drill/adapters/local/reports.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recording-notifier-'));
  dirs.push(dir);
  return dir;
}

/** A local drill whose readiness check failed, with a connection string and a token in the detail. */
function failedReport(drillId: string): DrillReport {
  const at = (min: number) => new Date(Date.UTC(2026, 10, 26, 3, min)).toISOString();
  return buildReport({
    drillId,
    targetTime: at(0),
    restorePointAt: at(0),
    startedAt: at(0),
    readyAt: null,
    endedAt: at(5),
    targets: { rpoMinutes: 60, rtoMinutes: 30 },
    steps: [
      { name: 'validate', startedAt: at(0), endedAt: at(1), outcome: 'passed', detail: 'ok' },
      {
        name: 'smoke-ready',
        startedAt: at(1),
        endedAt: at(3),
        outcome: 'failed',
        detail:
          '/health/ready answered 503: database unavailable at postgres://app:S3cret-pw@127.0.0.1:5433/btcts',
        evidence: { status: 503, authorization: 'Bearer abc.def.ghi' },
      },
    ],
    evaluation: null,
    environment: 'local',
    mode: 'local',
  });
}

describe('local notifier', () => {
  it('records and prints each escalation as on-call would read it, with the report path', async () => {
    const dir = await stateDir();
    await mkdir(join(dir, 'reports'));
    await writeFile(join(dir, 'reports', 'd-local.md'), '# report\n');
    const printed: string[] = [];
    const report = failedReport('d-local');
    expect(report.escalations.map((e) => e.class)).toEqual(['READY_NOT_OK']);

    const count = await new RecordingNotifier(join(dir, 'notifications.jsonl'), (t) =>
      printed.push(t),
    ).publish(report, report.escalations);
    expect(count).toBe(2);
    const lines = (await readFile(join(dir, 'notifications.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LocalNotification);
    expect(lines.map((l) => l.kind)).toEqual(['escalation', 'summary']);
    const [escalation] = lines;
    expect(escalation?.subject).toBe('[CRITICAL] READY_NOT_OK · local · local source · d-local');
    expect(escalation?.attributes).toEqual({
      class: 'READY_NOT_OK',
      severity: 'critical',
      environment: 'local',
      kind: 'escalation',
    });
    expect(escalation?.chatbot?.content.textType).toBe('client-markdown');
    expect(escalation?.text).toContain('smoke-ready failed: /health/ready answered 503');
    expect(escalation?.text).toContain('smoke-ready.status: 503');
    expect(escalation?.text).toContain('Runbook step: Failure Escalation 1; Restore Procedure 5');
    expect(escalation?.text).toContain(`Report: ${join(dir, 'reports', 'd-local.md')}`);
    expect(printed[0]).toBe(`${escalation?.subject}\n${escalation?.text}`);
    expect(printed[1]).toMatch(/^Recovery drill d-local FAILED/);

    const written = `${printed.join('\n')}${await readFile(join(dir, 'notifications.jsonl'), 'utf8')}`;
    expect(written).not.toContain('S3cret-pw');
    expect(written).not.toContain('abc.def.ghi');
  });

  it('names no report that is not there and appends to what was recorded before', async () => {
    const dir = await stateDir();
    const file = join(dir, 'notifications.jsonl');
    const notifier = new RecordingNotifier(file, () => undefined);
    const report = failedReport('d-none');
    const stale = createEscalation('CLEANUP_FAILED', 'd-none', 'instance still running');
    await notifier.publish(report, [stale]);
    await notifier.publish(report, []);
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LocalNotification);
    expect(lines.map((l) => l.kind)).toEqual(['escalation', 'summary', 'summary']);
    expect(lines[0]?.text).not.toContain('Report:');
  });
});
