import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../functions/core/errors.ts';
import {
  type EvaluationInput,
  evaluateRecovery,
  type HeartbeatInput,
  rpoMet,
} from '../../functions/core/evaluate.ts';

const TABLE = '"recovery_drill"."heartbeat"';
/** The heartbeat as the integrity step reads it from a copy whose newest beat at or before T is `newestAt`. */
const heartbeat = (newestAt: string): HeartbeatInput => ({
  expected: true,
  intervalMinutes: 1,
  reading: { table: TABLE, configured: true, newestAt, count: 3, error: null },
});

/** A drill that restored to 10:00, held data up to 09:58:30, started 10:01 and was ready at 10:21. */
const drill = (overrides: Partial<EvaluationInput> = {}): EvaluationInput => ({
  targetTime: '2026-11-26T10:00:00Z',
  restorePointAt: '2026-11-26T09:58:30Z',
  startedAt: '2026-11-26T10:01:00Z',
  readyAt: '2026-11-26T10:21:00Z',
  targets: { rpoMinutes: 60, rtoMinutes: 30 },
  ...overrides,
});

describe('recovery evaluation', () => {
  it('measures RPO as target time minus restore point and RTO as ready minus start', () => {
    const e = evaluateRecovery(drill());
    expect(e.rpoMinutes).toBe(1.5);
    expect(e.rtoMinutes).toBe(20);
    expect(e.rpo).toEqual({ measuredMinutes: 1.5, targetMinutes: 60, passed: true });
    expect(e.rto).toEqual({ measuredMinutes: 20, targetMinutes: 30, passed: true });
    expect(e.warnings).toEqual([]);
  });

  it('rounds measured minutes to two decimals', () => {
    const e = evaluateRecovery(
      drill({ restorePointAt: '2026-11-26T09:59:00.001Z', readyAt: '2026-11-26T10:01:10Z' }),
    );
    expect(e.rpoMinutes).toBe(1);
    expect(e.rtoMinutes).toBe(0.17);
  });

  it('passes a value exactly at its target and fails one just over it', () => {
    const atTarget = evaluateRecovery(
      drill({ restorePointAt: '2026-11-26T09:00:00Z', readyAt: '2026-11-26T10:31:00Z' }),
    );
    expect([atTarget.rpo.passed, atTarget.rto.passed]).toEqual([true, true]);
    const over = evaluateRecovery(
      drill({ restorePointAt: '2026-11-26T08:59:59Z', readyAt: '2026-11-26T10:31:01Z' }),
    );
    expect([over.rpo.passed, over.rto.passed]).toEqual([false, false]);
    expect([over.rpoMinutes, over.rtoMinutes]).toEqual([60.02, 30.02]);
  });

  it('fails the RTO and gives no payload when the drill never became ready', () => {
    const e = evaluateRecovery(drill({ readyAt: null }));
    expect(e.rtoMinutes).toBeNull();
    expect(e.rto).toEqual({ measuredMinutes: null, targetMinutes: 30, passed: false });
    expect(e.recoveryEvaluatePayload).toBeNull();
  });

  it('maps T, P and readyAt into the recovery-evaluate payload as design.md defines, in Z times', () => {
    const e = evaluateRecovery(
      drill({ targetTime: '2026-11-26T12:00:00+02:00', targets: { rpoMinutes: 15, rtoMinutes: 45 } }),
    );
    expect(e.recoveryEvaluatePayload).toEqual({
      backupCompletedAt: '2026-11-26T10:00:00.000Z',
      restorePointAt: '2026-11-26T09:58:30.000Z',
      restoreCompletedAt: '2026-11-26T10:21:00.000Z',
      targetRpoMinutes: 15,
      targetRtoMinutes: 45,
    });
  });

  it('sends a restore point after the target as the target: the app counts no loss, as we do', () => {
    const e = evaluateRecovery(drill({ restorePointAt: '2026-11-26T10:00:05Z' }));
    expect(e.recoveryEvaluatePayload).toMatchObject({
      backupCompletedAt: '2026-11-26T10:00:00.000Z',
      restorePointAt: '2026-11-26T10:00:00.000Z',
    });
  });

  it('counts a restore point after the target as no data loss and warns', () => {
    const e = evaluateRecovery(drill({ restorePointAt: '2026-11-26T10:00:05Z' }));
    expect(e.rpoMinutes).toBe(0);
    expect(e.warnings[0]).toMatch(/restorePointAt \(2026-11-26T10:00:05.000Z\) is after targetTime/);
  });

  it('cross-checks the newest critical row against the target time', () => {
    const e = evaluateRecovery(drill({ newestRowAt: '2026-11-26T09:45:00Z' }));
    expect(e.newestRowLagMinutes).toBe(15);
    expect(e.warnings).toEqual([]);
    expect(evaluateRecovery(drill()).newestRowLagMinutes).toBeNull();
  });

  it('never fails or warns on an old newest row: a quiet source loses nothing; a note only without a heartbeat', () => {
    const quiet = evaluateRecovery(drill({ newestRowAt: '2026-11-26T07:00:00Z' }));
    expect(quiet.newestRowLagMinutes).toBe(180);
    expect(quiet.rpo.passed).toBe(true);
    expect(quiet.warnings).toEqual([]);
    expect(quiet.notes).toEqual([
      expect.stringMatching(/^the newest critical row is 180 min older than T: without a heartbeat/),
    ]);
    const proven = evaluateRecovery(
      drill({ newestRowAt: '2026-11-26T07:00:00Z', heartbeat: heartbeat('2026-11-26T09:59:30Z') }),
    );
    expect([proven.warnings, proven.notes]).toEqual([[], []]);
    // Rows after P are no surprise: P is what the copy holds at least (a latest restore reaches further).
    expect(evaluateRecovery(drill({ newestRowAt: '2026-11-26T09:59:00Z' })).warnings).toEqual([]);
  });

  it("takes a latest drill's restore point after T (the restore began after the drill start) as no loss, without a warning", () => {
    const e = evaluateRecovery(drill({ restorePointAt: '2026-11-26T10:00:01Z', latest: true }));
    expect(e.rpoMinutes).toBe(0);
    expect(e.warnings).toEqual([]);
    expect(e.recoveryEvaluatePayload?.restorePointAt).toBe('2026-11-26T10:00:00.000Z');
  });

  it('proves the RPO by the newest heartbeat at or before T and reports the bound', () => {
    const e = evaluateRecovery(
      drill({ restorePointSource: 'requested-time', heartbeat: heartbeat('2026-11-26T09:59:30Z') }),
    );
    expect(e.heartbeat).toEqual({
      status: 'proven',
      expected: true,
      table: TABLE,
      newestAt: '2026-11-26T09:59:30.000Z',
      expectedBy: '2026-11-26T08:59:00.000Z',
      boundMinutes: 0.5,
      passed: true,
      detail:
        "RPO ≤ 0.5 min, proven by data: the restored copy's newest heartbeat at or before T is 2026-11-26T09:59:30.000Z (3 beat(s); expected at or after 2026-11-26T08:59:00.000Z)",
    });
    expect(rpoMet(e)).toBe(true);
    expect(e.restorePointSource).toBe('requested-time');
  });

  it('allows one beat interval of jitter: a beat exactly at T − RPO target − interval passes, one earlier fails', () => {
    const hb = (at: string) =>
      evaluateRecovery(drill({ targets: { rpoMinutes: 1, rtoMinutes: 30 }, heartbeat: heartbeat(at) }))
        .heartbeat;
    expect(hb('2026-11-26T09:58:00Z')).toMatchObject({ status: 'proven', passed: true, boundMinutes: 2 });
    expect(hb('2026-11-26T09:57:59.999Z')).toMatchObject({
      status: 'stale',
      passed: false,
      expectedBy: '2026-11-26T09:58:00.000Z',
    });
  });

  it.each([
    [
      'missing',
      { table: TABLE, configured: false, newestAt: null, count: 0, error: null },
      `the heartbeat table ${TABLE} is not in the restored copy: expected a beat at or after 2026-11-26T08:59:00.000Z`,
    ],
    [
      'empty',
      { table: TABLE, configured: true, newestAt: null, count: 0, error: null },
      `the heartbeat table ${TABLE} in the restored copy holds no beat at or before T (2026-11-26T10:00:00.000Z): expected one at or after 2026-11-26T08:59:00.000Z`,
    ],
    [
      'unreadable',
      {
        table: TABLE,
        configured: false,
        newestAt: null,
        count: 0,
        error: 'permission denied for schema recovery_drill',
      },
      'the heartbeat in the restored copy could not be read: permission denied for schema recovery_drill: the RPO is not proven',
    ],
  ] as const)(
    'fails the RPO when the heartbeat is set up and %s in the copy, the engine RPO met',
    (status, reading, detail) => {
      const e = evaluateRecovery(drill({ heartbeat: { expected: true, intervalMinutes: 1, reading } }));
      expect(e.rpo.passed).toBe(true);
      expect(e.heartbeat).toMatchObject({ status, passed: false, newestAt: null, detail });
      expect(rpoMet(e)).toBe(false);
    },
  );

  it('reports the engine RPO alone when no heartbeat is set up, and says why', () => {
    const e = evaluateRecovery(
      drill({
        heartbeat: { expected: false, reason: 'heartbeat.mode is none', intervalMinutes: 1, reading: null },
      }),
    );
    expect(e.heartbeat).toMatchObject({
      status: 'not-set-up',
      passed: true,
      boundMinutes: null,
      detail: "not proven by data: heartbeat.mode is none; the RPO is the engine's alone",
    });
    expect(rpoMet(e)).toBe(true);
    expect(evaluateRecovery(drill()).heartbeat).toBeNull();
  });

  it.each([
    ['targetTime', { targetTime: 'latest' }],
    ['restorePointAt', { restorePointAt: '2026-11-26 09:58' }],
    ['startedAt', { startedAt: '' }],
    ['readyAt', { readyAt: '2026-13-01T00:00:00Z' }],
    ['newestRowAt', { newestRowAt: 'yesterday' }],
    ['readyAt', { readyAt: '2026-11-26T10:00:59Z' }],
    ['targets.rpoMinutes', { targets: { rpoMinutes: 0, rtoMinutes: 30 } }],
    ['targets.rtoMinutes', { targets: { rpoMinutes: 60, rtoMinutes: Number.NaN } }],
  ] as const)('refuses a bad %s by naming it', (field, overrides) => {
    expect(() => evaluateRecovery(drill(overrides as Partial<EvaluationInput>))).toThrow(InputError);
    expect(() => evaluateRecovery(drill(overrides as Partial<EvaluationInput>))).toThrow(
      expect.objectContaining({ field }),
    );
  });

  it('passes a target exactly when the measured minutes are at most it, for any drill timeline', () => {
    const minute = 60_000;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600 * minute }),
        fc.option(fc.integer({ min: 0, max: 600 * minute })),
        fc.integer({ min: 1, max: 240 }),
        fc.integer({ min: 1, max: 240 }),
        (lossMs, readyAfterMs, rpoMinutes, rtoMinutes) => {
          const t = Date.parse('2026-11-26T10:00:00Z');
          const e = evaluateRecovery({
            targetTime: new Date(t).toISOString(),
            restorePointAt: new Date(t - lossMs).toISOString(),
            startedAt: new Date(t + minute).toISOString(),
            readyAt: readyAfterMs === null ? null : new Date(t + minute + readyAfterMs).toISOString(),
            targets: { rpoMinutes, rtoMinutes },
          });
          expect(Math.abs(e.rpoMinutes - lossMs / minute)).toBeLessThanOrEqual(0.005 + 1e-9); // rounding half a hundredth, plus float error
          expect(e.rpo.passed).toBe(e.rpoMinutes <= rpoMinutes);
          if (readyAfterMs === null) {
            expect([e.rtoMinutes, e.rto.passed, e.recoveryEvaluatePayload]).toEqual([null, false, null]);
          } else {
            expect(Math.abs((e.rtoMinutes as number) - readyAfterMs / minute)).toBeLessThanOrEqual(
              0.005 + 1e-9,
            ); // rounding half a hundredth, plus float error
            expect(e.rto.passed).toBe((e.rtoMinutes as number) <= rtoMinutes);
            expect(e.recoveryEvaluatePayload?.restoreCompletedAt).toBe(
              new Date(t + minute + readyAfterMs).toISOString(),
            );
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
