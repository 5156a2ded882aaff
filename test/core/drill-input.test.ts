import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DrillInputError,
  describeFrom,
  fromInTitle,
  validateDrillInput,
} from '../../functions/core/drill-input.ts';
import { InputError } from '../../functions/core/errors.ts';

const now = () => new Date('2026-11-26T12:00:00Z');
const DAY = 86_400_000;

function problemsOf(raw: unknown, window?: { earliest: Date | null; latest: Date | null }) {
  try {
    validateDrillInput(raw, { now: now(), engine: 'aws', ...(window ? { window } : {}) });
  } catch (error) {
    expect(error).toBeInstanceOf(DrillInputError);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).name).toBe('DrillInputError');
    return (error as DrillInputError).problems;
  }
  throw new Error('expected the drill input to be refused');
}

describe('drill input', () => {
  it('defaults to the latest restorable time, no reason, not a dry run', () => {
    const expected = { targetTime: 'latest', reason: null, requestedBy: null, dryRun: false, from: 'source' };
    expect(validateDrillInput(undefined, { now: now(), engine: 'aws' })).toEqual(expected);
    expect(validateDrillInput({}, { now: now(), engine: 'aws' })).toEqual(expected);
    expect(validateDrillInput(null, { now: now(), engine: 'aws' })).toEqual(expected);
  });

  it('normalizes a target time with an offset to UTC', () => {
    const input = validateDrillInput(
      {
        targetTime: '2026-11-26T11:30:00+02:00',
        reason: ' quarterly drill ',
        requestedBy: 'oncall@bank',
        dryRun: true,
      },
      { now: now(), engine: 'aws' },
    );
    expect(input).toEqual({
      targetTime: '2026-11-26T09:30:00.000Z',
      reason: 'quarterly drill',
      requestedBy: 'oncall@bank',
      dryRun: true,
      from: 'source',
    });
  });

  it.each([
    ['2026-11-26T10:00:00', 'no zone'],
    ['2026-11-26', 'a date only'],
    ['2026-02-29T10:00:00Z', 'a day that does not exist'],
    ['2026-11-26T24:00:00Z', 'hour 24'],
    ['26/11/2026 10:00', 'another format'],
    ['LATEST', 'the wrong case'],
  ])('refuses the target time %s (%s)', (targetTime) => {
    expect(problemsOf({ targetTime })).toEqual([
      {
        field: 'targetTime',
        value: targetTime,
        expected: expect.stringContaining('ISO-8601 time with a zone'),
      },
    ]);
  });

  it('refuses a target time in the future', () => {
    expect(problemsOf({ targetTime: '2026-11-26T12:00:01Z' })[0]?.expected).toMatch(/not in the future/);
  });

  it('accepts exactly 35 days back and refuses a second more', () => {
    const limit = new Date(now().getTime() - 35 * DAY).toISOString();
    expect(validateDrillInput({ targetTime: limit }, { now: now(), engine: 'aws' }).targetTime).toBe(limit);
    const beyond = new Date(now().getTime() - 35 * DAY - 1000).toISOString();
    expect(problemsOf({ targetTime: beyond })[0]?.expected).toMatch(/at most 35 days back/);
  });

  it('refuses a target time outside the known restorable window', () => {
    const window = { earliest: new Date('2026-11-20T00:00:00Z'), latest: new Date('2026-11-26T11:55:00Z') };
    expect(problemsOf({ targetTime: '2026-11-19T23:59:59Z' }, window)[0]?.expected).toMatch(
      /at or after the earliest restorable time 2026-11-20T00:00:00.000Z/,
    );
    expect(problemsOf({ targetTime: '2026-11-26T11:58:00Z' }, window)[0]?.expected).toMatch(
      /at or before the latest restorable time 2026-11-26T11:55:00.000Z/,
    );
    expect(
      validateDrillInput({ targetTime: '2026-11-20T00:00:00Z' }, { now: now(), engine: 'aws', window })
        .targetTime,
    ).toBe('2026-11-20T00:00:00.000Z');
  });

  it('bounds reason at 200 printable characters and requestedBy at 100', () => {
    expect(
      validateDrillInput({ reason: 'ä'.repeat(200) }, { now: now(), engine: 'aws' }).reason,
    ).toHaveLength(200);
    expect(problemsOf({ reason: 'x'.repeat(201) })[0]).toMatchObject({ field: 'reason' });
    expect(problemsOf({ reason: 'drill\nrm -rf' })[0]?.expected).toMatch(/printable/);
    expect(problemsOf({ reason: 'bell\u0007' })[0]?.field).toBe('reason');
    expect(problemsOf({ requestedBy: 'y'.repeat(101) })[0]?.field).toBe('requestedBy');
    expect(problemsOf({ requestedBy: 42 })[0]?.field).toBe('requestedBy');
  });

  it('reports every problem at once, unknown keys included', () => {
    const problems = problemsOf({ targetTime: 'yesterday', reason: 7, dryRun: 'yes', targettime: 'latest' });
    expect(problems.map((p) => p.field)).toEqual(['targettime', 'targetTime', 'reason', 'dryRun']);
    expect(problems[0]).toEqual({
      field: 'targettime',
      value: 'latest',
      expected: 'no such field (expected one of targetTime, reason, requestedBy, dryRun, from)',
    });
  });

  it('names the field and value in the message', () => {
    expect(() => validateDrillInput({ dryRun: 'yes' }, { now: now(), engine: 'aws' })).toThrow(
      'drill input is invalid: dryRun: true or false (a JSON boolean); got "yes"',
    );
  });

  it('takes the data origin each engine knows, default the source, and refuses the others naming from and the value', () => {
    expect(validateDrillInput({ from: 'isolated' }, { now: now(), engine: 'local' }).from).toBe('isolated');
    expect(validateDrillInput({}, { now: now(), engine: 'local' }).from).toBe('source');
    for (const from of ['source', 'isolated-region', 'isolated-snapshot'])
      expect(validateDrillInput({ from }, { now: now(), engine: 'aws' }).from).toBe(from);
    expect(() => validateDrillInput({ from: 'isolated-region' }, { now: now(), engine: 'local' })).toThrow(
      'drill input is invalid: from: one of "source", "isolated" (where the local engine\'s drill takes its data from); got "isolated-region"',
    );
    for (const bad of ['isolated', 'Source', '', 7]) {
      const problems = (() => {
        try {
          validateDrillInput({ from: bad }, { now: now(), engine: 'aws' });
        } catch (error) {
          return (error as DrillInputError).problems;
        }
        throw new Error(`expected from ${String(bad)} to be refused`);
      })();
      expect(problems).toEqual([
        {
          field: 'from',
          value: bad,
          expected: expect.stringContaining('"source", "isolated-region", "isolated-snapshot"'),
        },
      ]);
    }
  });

  it('says each origin in a title only when it is not the source', () => {
    expect(fromInTitle('source')).toBe('');
    expect(fromInTitle(undefined)).toBe('');
    expect(fromInTitle('isolated')).toBe(' (from the isolated copy)');
    expect(describeFrom('isolated-snapshot')).toBe('the isolated snapshot copy');
  });

  it('refuses input that is not an object', () => {
    expect(problemsOf('latest').map((p) => p.field)).toEqual(['(input)']);
    expect(problemsOf([]).map((p) => p.field)).toEqual(['(input)']);
  });

  it('accepts any zoned time inside the last 35 days and returns the same instant in UTC', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 35 * 86_400 }),
        fc.integer({ min: -14 * 4, max: 14 * 4 }),
        (secondsBack, quarterHours) => {
          const ms = now().getTime() - secondsBack * 1000;
          const offset = quarterHours * 15;
          const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
          const abs = Math.abs(offset);
          const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const input = validateDrillInput({ targetTime: `${local}${zone}` }, { now: now(), engine: 'aws' });
          expect(input.targetTime).toBe(new Date(ms).toISOString());
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts a target time exactly when it lies in the window, not in the future and within 35 days', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -40 * 86_400, max: 2 * 86_400 }),
        fc.option(fc.integer({ min: -40 * 86_400, max: 0 })),
        fc.option(fc.integer({ min: -86_400, max: 0 })),
        (targetOffset, earliestOffset, latestOffset) => {
          const nowMs = now().getTime();
          const target = nowMs + targetOffset * 1000;
          const earliest = earliestOffset === null ? null : new Date(nowMs + earliestOffset * 1000);
          const latest = latestOffset === null ? null : new Date(nowMs + latestOffset * 1000);
          const allowed =
            target <= nowMs &&
            nowMs - target <= 35 * DAY &&
            (earliest === null || target >= earliest.getTime()) &&
            (latest === null || target <= latest.getTime());
          const attempt = () =>
            validateDrillInput(
              { targetTime: new Date(target).toISOString() },
              { now: now(), engine: 'aws', window: { earliest, latest } },
            );
          if (allowed) expect(attempt().targetTime).toBe(new Date(target).toISOString());
          else expect(attempt).toThrow(DrillInputError);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
