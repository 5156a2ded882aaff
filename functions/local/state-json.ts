/**
 * The state folder's JSON files: written atomically, read back, and a file that exists but cannot
 * be read reported as damaged ({@link DamagedStateError}), naming the file and what to do.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes JSON atomically (temp file + rename), so a crash never leaves half a record. */
export async function writeJson(path: string, value: unknown, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  await rename(temp, path);
}

/**
 * A state file that exists but cannot be read as what it should be (torn, garbled, truncated):
 * the message names the file, what is wrong and what to do, so one damaged record is a sentence
 * on-call can act on, not a `SyntaxError` from every command.
 */
export class DamagedStateError extends Error {
  readonly file: string;
  readonly problem: string;

  constructor(file: string, problem: string, advice: string, options?: ErrorOptions) {
    super(`${file} is damaged (${problem}): ${advice}`, options);
    this.name = 'DamagedStateError';
    this.file = file;
    this.problem = problem;
  }
}

/** What to do about a damaged state file when the caller has nothing better to say. */
export const DEFAULT_ADVICE = 'move it aside (keep it for a post-mortem) and run the command again';

/**
 * Reads a JSON state file: null when it does not exist.
 * @throws DamagedStateError naming the file when it exists but is not JSON (or is empty);
 *   other read errors (a folder in the way, EACCES) as they are.
 */
export async function readJson<T>(path: string, advice = DEFAULT_ADVICE): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    if (text.trim() === '') throw new Error('the file is empty');
    return JSON.parse(text) as T;
  } catch (error) {
    throw new DamagedStateError(path, (error as Error).message, advice, { cause: error });
  }
}

/** Reads a JSON state file synchronously: null when it is missing or not JSON (best effort, for display). */
export function readJsonSync<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
