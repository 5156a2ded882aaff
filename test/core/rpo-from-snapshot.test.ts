/**
 * RPO of a drill from the isolated snapshot copy (issue 14 item 3), measured honestly: P is the
 * copied snapshot's creation time, RPO = T − P against the target, so a daily copy that cannot
 * meet a 1-hour target fails and says why; the heartbeat evidence still applies.
 */
import { describe, expect, it } from 'vitest';
import {
  describeRestorePointSource,
  type EvaluationInput,
  evaluateRecovery,
  rpoMet,
} from '../../functions/core/evaluate.ts';

const drill = (overrides: Partial<EvaluationInput>): EvaluationInput => ({
  targetTime: '2026-11-26T10:00:00Z',
  restorePointAt: '2026-11-26T09:30:00Z',
  restorePointSource: 'snapshot-creation-time',
  latest: true,
  startedAt: '2026-11-26T10:00:00Z',
  readyAt: '2026-11-26T10:20:00Z',
  targets: { rpoMinutes: 60, rtoMinutes: 30 },
  ...overrides,
});

describe('RPO of a drill from a copied snapshot', () => {
  it.each([
    // [what, T, P (snapshot created), target, measured RPO, passed]
    ['a snapshot taken 30 min before T', '2026-11-26T10:00:00Z', '2026-11-26T09:30:00Z', 60, 30, true],
    [
      'a snapshot taken exactly one target before T',
      '2026-11-26T10:00:00Z',
      '2026-11-26T09:00:00Z',
      60,
      60,
      true,
    ],
    [
      'a snapshot one second past the target',
      '2026-11-26T10:00:00Z',
      '2026-11-26T08:59:59Z',
      60,
      60.02,
      false,
    ],
    [
      'the daily copy of 03:00, drilled at 10:00',
      '2026-11-26T10:00:00Z',
      '2026-11-26T03:00:00Z',
      60,
      420,
      false,
    ],
    [
      'the daily copy of yesterday 03:00, drilled at 02:00',
      '2026-11-26T02:00:00Z',
      '2026-11-25T03:00:00Z',
      60,
      1380,
      false,
    ],
    [
      'the daily copy against a 1-day target',
      '2026-11-26T02:00:00Z',
      '2026-11-25T03:00:00Z',
      1440,
      1380,
      true,
    ],
  ] as const)('%s: T − P against the target', (_what, t, p, target, measured, passed) => {
    const e = evaluateRecovery(
      drill({
        targetTime: t,
        startedAt: t,
        restorePointAt: p,
        targets: { rpoMinutes: target, rtoMinutes: 30 },
      }),
    );
    expect(e.rpoMinutes).toBe(measured);
    expect(e.rpo).toEqual({ measuredMinutes: measured, targetMinutes: target, passed });
    expect(e.restorePointSource).toBe('snapshot-creation-time');
    const said = e.warnings.filter((w) => w.includes("snapshot's creation time"));
    expect(said).toHaveLength(passed ? 0 : 1);
  });

  it('says why a daily copy fails a 1-hour target, naming P, T and the way out', () => {
    const e = evaluateRecovery(drill({ restorePointAt: '2026-11-26T03:00:00Z' }));
    expect(rpoMet(e)).toBe(false);
    expect(e.warnings).toEqual([expect.stringContaining('RPO 420 min over the 60 min target')]);
    expect(e.warnings[0]).toContain('2026-11-26T03:00:00');
    expect(e.warnings[0]).toContain('(2026-11-26T10:00:00');
    expect(e.warnings[0]).toContain('isolated-region');
  });

  it('says nothing of snapshots when a point-in-time restore misses the target', () => {
    const e = evaluateRecovery(
      drill({
        restorePointAt: '2026-11-26T08:00:00Z',
        restorePointSource: 'replicated-latest-restorable-time',
      }),
    );
    expect(e.rpo.passed).toBe(false);
    expect(e.warnings).toEqual([]);
  });

  it('still judges the heartbeat: a beat older than T − target fails even a snapshot within target', () => {
    const e = evaluateRecovery(
      drill({
        restorePointAt: '2026-11-26T09:30:00Z',
        heartbeat: {
          expected: true,
          intervalMinutes: 1,
          reading: {
            table: '"recovery_drill"."heartbeat"',
            configured: true,
            newestAt: '2026-11-26T08:30:00Z',
            count: 10,
            error: null,
          },
        },
      }),
    );
    expect(e.rpo.passed).toBe(true);
    expect(e.heartbeat?.status).toBe('stale');
    expect(rpoMet(e)).toBe(false);
  });

  it('words where P came from for the report', () => {
    expect(describeRestorePointSource('snapshot-creation-time', 'aws')).toContain(
      'OriginalSnapshotCreateTime',
    );
    expect(describeRestorePointSource('replicated-latest-restorable-time', 'aws')).toContain('copy region');
  });
});
