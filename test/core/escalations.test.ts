import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createEscalation,
  DRILL_STEPS,
  type DrillStepName,
  ESCALATION_CLASSES,
  ESCALATION_RULES,
  type EscalationClass,
  escalationsFromOutcomes,
  STEP_ESCALATION,
  type StepOutcome,
} from '../../functions/core/escalations.ts';
import { type EvaluationInput, evaluateRecovery } from '../../functions/core/evaluate.ts';

const step = (
  name: DrillStepName,
  outcome: StepOutcome['outcome'] = 'passed',
  detail = 'ok',
): StepOutcome => ({
  name,
  startedAt: '2026-11-26T10:00:00Z',
  endedAt: '2026-11-26T10:01:00Z',
  outcome,
  detail,
});

const allPassed = () => DRILL_STEPS.map((name) => step(name));

const evaluation = (overrides: Partial<EvaluationInput> = {}) =>
  evaluateRecovery({
    targetTime: '2026-11-26T10:00:00Z',
    restorePointAt: '2026-11-26T09:59:00Z',
    startedAt: '2026-11-26T10:00:00Z',
    readyAt: '2026-11-26T10:20:00Z',
    targets: { rpoMinutes: 60, rtoMinutes: 30 },
    ...overrides,
  });

const withFailure = (name: DrillStepName, detail = 'boom') =>
  allPassed().map((s) => (s.name === name ? step(name, 'failed', detail) : s));

describe('escalation rules', () => {
  it('define every class with a severity, a runbook step and a remediation hint', () => {
    for (const cls of ESCALATION_CLASSES) {
      const rule = ESCALATION_RULES[cls];
      expect(rule.class).toBe(cls);
      expect(['critical', 'high', 'warning']).toContain(rule.severity);
      for (const text of [rule.title, rule.when, rule.runbookStep, rule.remediation, rule.expected])
        expect(text.length).toBeGreaterThan(5);
    }
    expect(Object.keys(ESCALATION_RULES).sort()).toEqual([...ESCALATION_CLASSES].sort());
  });

  it('page immediately for the four runbook escalations', () => {
    for (const cls of ['READY_NOT_OK', 'MIGRATION_FAILED', 'AUTH_WRITE_FAILED', 'INTEGRITY_FAILED'] as const)
      expect(ESCALATION_RULES[cls].severity).toBe('critical');
  });
});

describe('escalation', () => {
  it('carries class, severity, id, observation, runbook step and remediation', () => {
    const e = createEscalation('BACKUP_STALE', 'rpo-monitor-2026-11-26', 'restorable-time lag 75 min', {
      lagMinutes: 75,
    });
    expect(e).toEqual({
      class: 'BACKUP_STALE',
      severity: 'critical',
      id: 'rpo-monitor-2026-11-26',
      message: 'restorable-time lag 75 min',
      runbookStep: ESCALATION_RULES.BACKUP_STALE.runbookStep,
      remediation: ESCALATION_RULES.BACKUP_STALE.remediation,
      evidence: { lagMinutes: 75 },
    });
  });

  it('masks credentials in the message and the evidence', () => {
    const e = createEscalation(
      'RESTORE_FAILED',
      'd1',
      'cannot connect to postgres://admin:hunter2@db:5432/app',
      {
        url: 'postgresql://admin:hunter2@db/app',
        line: 'PGPASSWORD=hunter2 psql',
      },
    );
    expect(JSON.stringify(e)).not.toContain('hunter2');
    expect(e.message).toBe('cannot connect to postgres://admin:***@db:5432/app');
  });

  it('refuses an unknown class', () => {
    expect(() => createEscalation('NOPE' as EscalationClass, 'd1', 'x')).toThrow(
      /unknown escalation class "NOPE"/,
    );
  });
});

describe('escalations from a drill', () => {
  it('raise nothing for a drill where every step passed and targets were met', () => {
    expect(escalationsFromOutcomes('d1', allPassed(), evaluation())).toEqual([]);
  });

  it.each<[DrillStepName, EscalationClass]>([
    ['restore', 'RESTORE_FAILED'],
    ['wait', 'RESTORE_FAILED'],
    ['connect', 'RESTORE_FAILED'],
    ['detect-drift', 'MIGRATION_FAILED'],
    ['migrate', 'MIGRATION_FAILED'],
    ['start-app', 'READY_NOT_OK'],
    ['smoke-health', 'READY_NOT_OK'],
    ['smoke-ready', 'READY_NOT_OK'],
    ['smoke-login', 'AUTH_WRITE_FAILED'],
    ['smoke-search', 'SMOKE_FAILED'],
    ['smoke-day', 'SMOKE_FAILED'],
    ['integrity', 'INTEGRITY_FAILED'],
    ['cleanup', 'CLEANUP_FAILED'],
  ])('raise %s failing as %s', (name, cls) => {
    const escalations = escalationsFromOutcomes('drill-7', withFailure(name, 'observed thing'), evaluation());
    expect(escalations).toEqual([
      expect.objectContaining({
        class: cls,
        id: 'drill-7',
        severity: ESCALATION_RULES[cls].severity,
        message: `${name} failed: observed thing`,
        evidence: expect.objectContaining({
          failedSteps: name,
          [`${name}.startedAt`]: '2026-11-26T10:00:00Z',
        }),
      }),
    ]);
  });

  it.each<DrillStepName>(['validate', 'evaluate', 'report', 'notify'])(
    'raise no class for a failed %s step',
    (name) => {
      expect(escalationsFromOutcomes('d1', withFailure(name), evaluation())).toEqual([]);
    },
  );

  it('treat warning and skipped outcomes as no escalation', () => {
    const steps = allPassed().map((s) =>
      s.name === 'smoke-search'
        ? step('smoke-search', 'warning', 'slow')
        : s.name === 'migrate'
          ? step('migrate', 'skipped')
          : s,
    );
    expect(escalationsFromOutcomes('d1', steps, evaluation())).toEqual([]);
  });

  it('raise one escalation per class, naming every step that failed', () => {
    const steps = allPassed().map((s) =>
      s.name === 'smoke-search' || s.name === 'smoke-day' ? step(s.name, 'failed', `${s.name} 500`) : s,
    );
    const [e, ...rest] = escalationsFromOutcomes('d1', steps, evaluation());
    expect(rest).toEqual([]);
    expect(e?.message).toBe('smoke-search failed: smoke-search 500; smoke-day failed: smoke-day 500');
    expect(e?.evidence.failedSteps).toBe('smoke-search, smoke-day');
  });

  it('raise RPO_BREACHED when the data-loss window is over target', () => {
    const [e] = escalationsFromOutcomes(
      'd1',
      allPassed(),
      evaluation({ restorePointAt: '2026-11-26T08:30:00Z' }),
    );
    expect(e).toMatchObject({
      class: 'RPO_BREACHED',
      message:
        'data-loss window 90 min (T 2026-11-26T10:00:00.000Z − P 2026-11-26T08:30:00.000Z) is over the RPO target of 60 min',
    });
    expect(e?.evidence).toEqual({
      rpoMinutes: 90,
      targetRpoMinutes: 60,
      targetTime: '2026-11-26T10:00:00.000Z',
      restorePointAt: '2026-11-26T08:30:00.000Z',
      restorePointSource: null,
    });
  });

  it('raise RPO_BREACHED with the evidence when the heartbeat is set up and too old in the copy, the engine RPO met', () => {
    const [e, ...rest] = escalationsFromOutcomes(
      'd1',
      allPassed(),
      evaluation({
        restorePointSource: 'requested-time',
        heartbeat: {
          expected: true,
          intervalMinutes: 1,
          reading: {
            table: '"recovery_drill"."heartbeat"',
            configured: true,
            newestAt: '2026-11-26T08:00:00Z',
            count: 12,
            error: null,
          },
        },
      }),
    );
    expect(rest).toEqual([]);
    expect(e?.class).toBe('RPO_BREACHED');
    expect(e?.message).toBe(
      "heartbeat: the restored copy's newest heartbeat at or before T is 2026-11-26T08:00:00.000Z, 120 min before T: older than 2026-11-26T08:59:00.000Z (T − RPO target 60 min − one beat interval 1 min); commits before T are missing, or the heartbeat had stopped",
    );
    expect(e?.evidence).toMatchObject({
      rpoMinutes: 1,
      heartbeat: 'stale',
      newestHeartbeatAt: '2026-11-26T08:00:00.000Z',
      heartbeatExpectedBy: '2026-11-26T08:59:00.000Z',
      restorePointSource: 'requested-time',
    });
  });

  it('raise RTO_BREACHED only when the drill got to ready', () => {
    const slow = escalationsFromOutcomes('d1', allPassed(), evaluation({ readyAt: '2026-11-26T10:45:00Z' }));
    expect(slow.map((e) => e.class)).toEqual(['RTO_BREACHED']);
    const neverReady = escalationsFromOutcomes(
      'd1',
      withFailure('smoke-ready'),
      evaluation({ readyAt: null }),
    );
    expect(neverReady.map((e) => e.class)).toEqual(['READY_NOT_OK']);
  });

  it('list escalations in class order whatever the order of the steps', () => {
    const steps = [step('cleanup', 'failed'), step('integrity', 'failed'), step('restore', 'failed')];
    expect(escalationsFromOutcomes('d1', steps, null).map((e) => e.class)).toEqual([
      'INTEGRITY_FAILED',
      'RESTORE_FAILED',
      'CLEANUP_FAILED',
    ]);
  });

  it('raise exactly the classes of the failed steps, once each, over any mix of outcomes', () => {
    const outcomes = fc.constantFrom<StepOutcome['outcome']>('passed', 'failed', 'skipped', 'warning');
    fc.assert(
      fc.property(
        fc.array(outcomes, { minLength: DRILL_STEPS.length, maxLength: DRILL_STEPS.length }),
        (picked) => {
          const steps = DRILL_STEPS.map((name, i) => step(name, picked[i]));
          const classes = escalationsFromOutcomes('d1', steps, null).map((e) => e.class);
          const expected = new Set(
            steps.flatMap((s) =>
              s.outcome === 'failed' && STEP_ESCALATION[s.name] ? [STEP_ESCALATION[s.name]] : [],
            ),
          );
          expect(new Set(classes)).toEqual(expected);
          expect(classes).toHaveLength(expected.size);
          expect(classes).toEqual(
            [...classes].sort((a, b) => ESCALATION_CLASSES.indexOf(a) - ESCALATION_CLASSES.indexOf(b)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
