import { describe, expect, it } from 'vitest';
import { evaluateRecovery, parseTimestamp } from '../../../examples/bt-cts/apps/api/src/recovery-evaluate.ts';

function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backupCompletedAt: '2026-11-26T09:00:00Z',
    restorePointAt: '2026-11-26T10:00:00Z',
    restoreCompletedAt: '2026-11-26T10:30:00Z',
    targetRpoMinutes: 60,
    targetRtoMinutes: 30,
    ...overrides,
  };
}

describe('recovery-evaluate', () => {
  it('passes a target the measured minutes exactly meet', () => {
    const outcome = evaluateRecovery(payload());
    expect(outcome).toMatchObject({
      ok: true,
      result: {
        rpo: { measuredMinutes: 60, passed: true },
        rto: { measuredMinutes: 30, passed: true },
        passed: true,
      },
    });
  });

  it('fails a target exceeded by a second', () => {
    const outcome = evaluateRecovery(payload({ restoreCompletedAt: '2026-11-26T10:30:01Z' }));
    expect(outcome).toMatchObject({ ok: true, result: { rto: { passed: false }, passed: false } });
  });

  it('reads zone offsets, so the same instants in other zones give the same minutes', () => {
    const outcome = evaluateRecovery(
      payload({
        backupCompletedAt: '2026-11-26T11:00:00+02:00',
        restorePointAt: '2026-11-26T05:15:00-04:45',
      }),
    );
    expect(outcome).toMatchObject({ ok: true, result: { rpo: { measuredMinutes: 60 } } });
  });

  it('reports every invalid field at once, each naming its value', () => {
    const outcome = evaluateRecovery(
      payload({ backupCompletedAt: 5, targetRpoMinutes: Number.NaN, targetRtoMinutes: null }),
    );
    expect(outcome.ok).toBe(false);
    const problems = outcome.ok ? [] : outcome.problems;
    expect(problems.map((p) => p.field)).toEqual([
      'backupCompletedAt',
      'targetRpoMinutes',
      'targetRtoMinutes',
    ]);
    expect(problems[0]?.message).toContain('got 5');
  });

  it('refuses a body that is not an object', () => {
    expect(evaluateRecovery([1, 2])).toMatchObject({ ok: false, problems: [{ field: 'body' }] });
  });
});

describe('timestamp parsing', () => {
  it.each([
    ['2026-11-26T10:00:00Z', Date.UTC(2026, 10, 26, 10)],
    ['2026-11-26T10:00Z', Date.UTC(2026, 10, 26, 10)],
    ['2026-11-26T10:00:00.123456Z', Date.UTC(2026, 10, 26, 10, 0, 0, 123)],
    ['2028-02-29T00:00:00+01:00', Date.UTC(2028, 1, 28, 23)],
  ])('reads %s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each([
    '2026-11-26T10:00:00',
    '2026-11-26',
    '2027-02-29T00:00:00Z',
    '2026-11-26T24:00:00Z',
    '2026-11-26T10:00:00+25:00',
    'Thu, 26 Nov 2026 10:00:00 GMT',
  ])('refuses %s', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });
});
