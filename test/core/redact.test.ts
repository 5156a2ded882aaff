import { describe, expect, it } from 'vitest';
import { redactCredentials } from '../../functions/core/redact.ts';

describe('credential redaction', () => {
  it.each([
    ['postgres://app:hunter2@db.internal:5432/bt', 'postgres://app:***@db.internal:5432/bt'],
    ['DATABASE_URL=postgresql://app:p%40ss@10.0.0.1/bt', 'DATABASE_URL=postgresql://app:***@10.0.0.1/bt'],
    ['password=hunter2 host=db', 'password=*** host=db'],
    ['{"password":"hunter2","user":"app"}', '{"password":"***","user":"app"}'],
    ['PGPASSWORD=hunter2 psql', 'PGPASSWORD=*** psql'],
    ['Authorization token: abc.def', 'Authorization token: ***'],
    [
      'GET /api/accounts with Authorization: Bearer 4f9c2e.x_Y-z=',
      'GET /api/accounts with Authorization: Bearer ***',
    ],
    [
      'login answered Set-Cookie: connect.sid=s%3AyS7n.Qx9; Path=/; HttpOnly',
      'login answered Set-Cookie: ***',
    ],
    ['sent Cookie: connect.sid=s%3AyS7n.Qx9\nnext line', 'sent Cookie: ***\nnext line'],
    ['the jar held connect.sid=s%3AyS7n.Qx9; expired', 'the jar held connect.sid=***; expired'],
    ['JSESSIONID=8F2A and PHPSESSID=77 and session=abc', 'JSESSIONID=*** and PHPSESSID=*** and session=***'],
  ])('masks %s', (text, masked) => {
    expect(redactCredentials(text)).toBe(masked);
  });

  it('leaves text without credentials alone', () => {
    const text = 'smoke-ready failed: /health/ready answered 503 after 120 s; rpo.passed: true';
    expect(redactCredentials(text)).toBe(text);
    expect(redactCredentials('https://example.com/path?q=1')).toBe('https://example.com/path?q=1');
    const names = 'smoke.sessionTable=session; consider=1; GET /api/accounts/search?q=a';
    expect(redactCredentials(names)).toBe(names);
  });
});
