import { describe, expect, it } from 'vitest';
import { InputError, InputProblemsError, showValue } from '../../functions/core/errors.ts';

describe('input problems error', () => {
  it('is an InputError named after its first problem, so exit-2 handling keeps working', () => {
    const error = new InputProblemsError('drill input', [
      { field: 'targetTime', value: 'soon', expected: 'an ISO-8601 time' },
      { field: 'dryRun', value: 'yes', expected: 'a boolean' },
    ]);
    expect(error).toBeInstanceOf(InputError);
    expect(error.field).toBe('targetTime');
    expect(error.value).toBe('soon');
    expect(error.message).toBe(
      'drill input is invalid (2 problems):\n  - targetTime: an ISO-8601 time; got "soon"\n  - dryRun: a boolean; got "yes"',
    );
  });

  it('puts a single problem on one line', () => {
    const error = new InputProblemsError('retention input', [
      { field: 'complete', value: undefined, expected: 'a boolean' },
    ]);
    expect(error.message).toBe('retention input is invalid: complete: a boolean; got nothing');
  });
});

describe('shown value', () => {
  it('shortens a long value so a pasted log line cannot flood the terminal', () => {
    const shown = showValue('x'.repeat(500));
    expect(shown).toHaveLength(120);
    expect(shown.endsWith('...')).toBe(true);
  });

  it('shows JSON, and something readable for what JSON cannot show', () => {
    expect(showValue({ a: 1 })).toBe('{"a":1}');
    expect(showValue(undefined)).toBe('nothing');
    expect(showValue(10n)).toBe('10');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(showValue(cyclic)).toBe('[object Object]');
  });
});
