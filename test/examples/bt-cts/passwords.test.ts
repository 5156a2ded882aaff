import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  PASSWORD_COST,
  verifyPassword,
} from '../../../examples/bt-cts/apps/api/src/passwords.ts';

describe('password hashes', () => {
  it('hashes in bcrypt format at the cost BT-CTS uses, and verifies that password only', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(PASSWORD_COST).toBe(12);
    expect(hash).toMatch(/^\$2b\$12\$[./A-Za-z0-9]{53}$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false);
  });

  it('verifies hashes made by other bcrypt implementations ($2a$ and $2b$, a published test vector)', async () => {
    // jBCrypt's test vector for the alphabet, cost 6; $2b$ differs from $2a$ only above 72 bytes.
    const vector = '.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC';
    for (const prefix of ['$2a$06$', '$2b$06$']) {
      expect(await verifyPassword('abcdefghijklmnopqrstuvwxyz', `${prefix}${vector}`)).toBe(true);
      expect(await verifyPassword('abcdefghijklmnopqrstuvwxyZ', `${prefix}${vector}`)).toBe(false);
    }
  });

  it('salts every hash, so equal passwords do not give equal hashes', async () => {
    expect(await hashPassword('same-password', 4)).not.toBe(await hashPassword('same-password', 4));
  });

  it.each(['', 'plain-text', 'scrypt$16384$8$1$c2FsdA==$aGFzaA==', '$2b$12$short'])(
    'answers false, never throws, for the malformed hash %j',
    async (stored) => {
      expect(await verifyPassword('anything', stored)).toBe(false);
    },
  );
});
