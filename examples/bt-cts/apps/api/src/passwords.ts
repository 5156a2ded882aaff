/**
 * Password hashes as BT-CTS stores them: bcrypt (`$2b$<cost>$<salt+hash>`). bcryptjs is pure
 * JavaScript with the same format as the native `bcrypt` module, so a hash written here verifies
 * there and back, and the stand-in needs no compiler or prebuilt binary.
 */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** The cost BT-CTS hashes its users' passwords with. */
export const PASSWORD_COST = 12;

export function hashPassword(password: string, cost: number = PASSWORD_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

/** False (never an exception) for a wrong password or a stored value that is not a bcrypt hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(stored)) return false;
  try {
    return await bcrypt.compare(password, stored);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** A hash of a random password: checked against when a username is unknown, so timing does not tell. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64'));
  return dummy;
}
