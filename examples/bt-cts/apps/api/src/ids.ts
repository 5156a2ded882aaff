/**
 * Row ids as Prisma's `@default(cuid())` makes them: 25 lowercase base-36 characters starting
 * with "c". The database gives no default (Prisma fills ids in the client), so every writer of
 * the stand-in, in JavaScript or in SQL, makes its own.
 */
import { randomBytes } from 'node:crypto';

let counter = 0;

/** A new cuid-like id: time, a per-process counter and randomness, so ids never collide. */
export function newId(): string {
  counter = (counter + 1) % 36 ** 4;
  const time = Date.now().toString(36).padStart(8, '0').slice(-8);
  const count = counter.toString(36).padStart(4, '0');
  const random = BigInt(`0x${randomBytes(8).toString('hex')}`)
    .toString(36)
    .padStart(13, '0')
    .slice(-12);
  return `c${time}${count}${random}`;
}

/** The same shape from SQL, for rows written set-wise: "c" and 24 random hex digits (92 random bits). */
export const SQL_NEW_ID = `('c' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24))`;
