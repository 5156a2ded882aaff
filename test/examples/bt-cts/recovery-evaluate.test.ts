import { describe, expect, it } from 'vitest';
import {
  evaluateRecovery,
  recoveryEvaluateSchema,
} from '../../../examples/bt-cts/apps/api/src/recovery-evaluate.ts';

function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backupCompletedAt: '2026-11-26T10:00:00Z',
    restorePointAt: '2026-11-26T09:00:00Z',
    restoreCompletedAt: '2026-11-26T10:30:00Z',
    targetRpoMinutes: 60,
    targetRtoMinutes: 30,
    ...overrides,
  };
}

function evaluate(overrides: Record<string, unknown> = {}) {
  return evaluateRecovery(recoveryEvaluateSchema.parse(payload(overrides)));
}

describe('recovery-evaluate arithmetic', () => {
  it('measures RPO from the restore point to the backup moment and RTO from there to the restore', () => {
    expect(evaluate()).toEqual({
      ok: true,
      evaluation: {
        measured: { rpoMinutes: 60, rtoMinutes: 30 },
        target: { rpoMinutes: 60, rtoMinutes: 30 },
        pass: { rpo: true, rto: true },
        overallPass: true,
      },
    });
  });

  it('fails a target exceeded by a second', () => {
    expect(evaluate({ restoreCompletedAt: '2026-11-26T10:30:01Z' })).toMatchObject({
      ok: true,
      evaluation: { measured: { rtoMinutes: 30.02 }, pass: { rpo: true, rto: false }, overallPass: false },
    });
  });

  it('rounds minutes to 2 decimals', () => {
    expect(
      evaluate({ restorePointAt: '2026-11-26T09:49:59Z', restoreCompletedAt: '2026-11-26T10:07:20.400Z' }),
    ).toMatchObject({ ok: true, evaluation: { measured: { rpoMinutes: 10.02, rtoMinutes: 7.34 } } });
  });

  it('refuses a restore point after the backup moment, and a restore before it, with the codes BT-CTS answers', () => {
    expect(evaluate({ restorePointAt: '2026-11-26T10:01:00Z' })).toEqual({
      ok: false,
      error: 'INVALID_SEQUENCE_RPO_NEGATIVE',
    });
    expect(evaluate({ restoreCompletedAt: '2026-11-26T09:59:00Z' })).toEqual({
      ok: false,
      error: 'INVALID_SEQUENCE_RTO_NEGATIVE',
    });
  });

  it('lets a difference that rounds to 0 pass, as the app checks the rounded value', () => {
    expect(evaluate({ restorePointAt: '2026-11-26T10:00:00.100Z' })).toMatchObject({
      ok: true,
      evaluation: { measured: { rpoMinutes: 0 } },
    });
  });
});

describe('recovery-evaluate validation', () => {
  it('takes 60 and 30 minutes as targets when none are given, and numbers written as strings', () => {
    const parsed = recoveryEvaluateSchema.parse(
      payload({ targetRpoMinutes: undefined, targetRtoMinutes: '45.5' }),
    );
    expect([parsed.targetRpoMinutes, parsed.targetRtoMinutes]).toEqual([60, 45.5]);
  });

  it.each([
    ['an offset instead of Z', { backupCompletedAt: '2026-11-26T12:00:00+02:00' }],
    ['no zone at all', { restorePointAt: '2026-11-26T09:00:00' }],
    ['no seconds', { restoreCompletedAt: '2026-11-26T10:30Z' }],
    ['a date only', { restoreCompletedAt: '2026-11-26' }],
    ['a day that does not exist', { restoreCompletedAt: '2026-02-30T10:30:00Z' }],
    ['a number', { backupCompletedAt: 1764151200000 }],
    ['a zero target', { targetRpoMinutes: 0 }],
    ['a negative target', { targetRtoMinutes: -5 }],
    ['a target that is not a number', { targetRtoMinutes: 'soon' }],
    ['a missing time', { restorePointAt: undefined }],
  ])('refuses %s', (_what, overrides) => {
    expect(recoveryEvaluateSchema.safeParse(payload(overrides)).success).toBe(false);
  });

  it('accepts fractional seconds with a Z', () => {
    expect(
      recoveryEvaluateSchema.safeParse(payload({ restorePointAt: '2026-11-26T09:00:00.123456Z' })).success,
    ).toBe(true);
  });
});
