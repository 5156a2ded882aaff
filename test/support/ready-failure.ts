/**
 * A drill whose readiness check failed for real, at the scale of one step: the `Smoke: ready`
 * step polls a real HTTP server that answers 503 the way BT-CTS does when its session store
 * refuses writes, its failure is recorded as the state machine's Catch records it (the evidence
 * in the Cause), and the `Write report` step reads it back into the report. What the notifiers
 * render from it is what a drill produces, not a hand-written escalation.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DrillReport } from '../../functions/core/report.ts';
import { failureRecord } from '../../functions/drill/ports/errors.ts';
import { type DrillState, runStep } from '../../functions/drill/steps/index.ts';
import { fakes, testConfig } from './drill-fakes.ts';

/** BT-CTS's answer when its session store's probe write fails (its body names both checks). */
export const NOT_READY_BODY = {
  status: 'not_ready',
  checks: { database: 'ok', sessionStore: 'error' },
};

/**
 * Runs validate, then `Smoke: ready` against a server answering 503 with `body` for a budget of
 * one second, then the report step; returns the report it wrote.
 */
export async function readyFailureReport(
  options: { drillId?: string; body?: unknown; mode?: 'local' | 'aws'; environment?: string } = {},
): Promise<DrillReport> {
  const server = createServer((request, response) => {
    const status = request.url === '/health/ready' ? 503 : 200;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(status === 503 ? (options.body ?? NOT_READY_BODY) : { status: 'ok' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const f = fakes({
      config: testConfig({
        environment: options.environment ?? 'production',
        smoke: { readyBudgetSeconds: 1 },
      }),
      mode: options.mode ?? 'aws',
    });
    // The real clock: the readiness wait measures its budget with it.
    const real = { ...f.deps, now: () => new Date() };
    const drillId = options.drillId ?? 'd-ready';
    const state: DrillState = {};
    state.drill = (await runStep('validate', {}, real, drillId)) as DrillState['drill'];
    const now = new Date().toISOString();
    state.app = {
      startedAt: now,
      endedAt: now,
      outcome: 'passed',
      detail: 'started',
      baseUrl: `http://127.0.0.1:${port}`,
      handle: 'http-server',
    };
    try {
      await runStep('smokeReady', state, real, drillId);
      throw new Error('the readiness check passed against a server answering 503');
    } catch (error) {
      state.failures = { smokeReady: failureRecord(error) };
    }
    await runStep('report', state, real, drillId);
    const [report] = f.outputs.reports;
    if (!report) throw new Error('the report step wrote no report');
    return report;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
