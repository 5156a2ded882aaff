import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEscalation } from '../../../functions/core/escalations.ts';
import type { DrillReport } from '../../../functions/core/report.ts';
import {
  type LocalNotification,
  RecordingNotifier,
} from '../../../functions/drill/adapters/local/reports.ts';
import { readyFailureReport } from '../../support/ready-failure.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recording-notifier-'));
  dirs.push(dir);
  return dir;
}

/**
 * A local drill whose readiness check failed for real (a server answering 503), with a connection
 * string and a token in the answer's body.
 */
function failedReport(drillId: string): Promise<DrillReport> {
  return readyFailureReport({
    drillId,
    mode: 'local',
    environment: 'local',
    body: {
      status: 'not_ready',
      checks: {
        database: 'unavailable at postgres://app:S3cret-pw@127.0.0.1:5433/btcts',
        sessionStore: 'error',
      },
      seen: 'Authorization: Bearer abc.def.ghi',
    },
  });
}

describe('local notifier', () => {
  it('records and prints each escalation as on-call would read it, with the report path', async () => {
    const dir = await stateDir();
    await mkdir(join(dir, 'reports'));
    await writeFile(join(dir, 'reports', 'd-local.md'), '# report\n');
    const printed: string[] = [];
    const report = await failedReport('d-local');
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
    expect(escalation?.text).toContain(
      'smoke-ready failed: ReadyNotOkError: readiness: GET /health/ready did not answer 200 within 1 s',
    );
    expect(escalation?.text).toContain('smoke-ready.status: 503');
    expect(escalation?.text).toContain('smoke-ready.path: /health/ready');
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
    const report = await failedReport('d-none');
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
