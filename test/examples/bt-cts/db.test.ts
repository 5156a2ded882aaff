import { describe, expect, it } from 'vitest';
import { describeError, isUnavailable, redact } from '../../../examples/bt-cts/apps/api/src/db.ts';

describe('database error reporting', () => {
  it('removes credentials from connection strings in messages', () => {
    expect(redact('connect to postgresql://app:s3cret@db:5432/btcts failed')).toBe(
      'connect to postgresql://***@db:5432/btcts failed',
    );
    expect(describeError(new Error('bad postgres://u:p@h/d'))).toBe('bad postgres://***@h/d');
  });

  it('appends the SQLSTATE so on-call can look it up', () => {
    const error = Object.assign(new Error('cannot execute INSERT in a read-only transaction'), {
      code: '25006',
    });
    expect(describeError(error)).toBe('cannot execute INSERT in a read-only transaction (25006)');
  });

  it.each([
    ['08006', true],
    ['57P01', true],
    ['57P03', true],
    ['25006', true],
    ['ECONNREFUSED', true],
    ['23505', false],
    ['42P01', false],
  ])('classifies SQLSTATE %s as unavailable: %s', (code, expected) => {
    expect(isUnavailable(Object.assign(new Error('x'), { code }))).toBe(expected);
  });

  it('classifies a connection pg closed without a SQLSTATE as unavailable', () => {
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(new Error('syntax error'))).toBe(false);
  });
});
