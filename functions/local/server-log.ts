/** Reading a server's log for the operator: why it gave up, and its last lines. */
import { readFile } from 'node:fs/promises';

/**
 * The newest line of a server log that says why the server gave up (`FATAL` or `PANIC`), as
 * `FATAL: recovery ended before configured recovery target was reached`; null when there is none.
 * Connection refusals during startup and shutdown (also FATAL) are not reasons and are skipped.
 * @param fromByte read only what the log got from this offset on (a log appended over many runs).
 */
export async function serverFailureLine(logFile: string, fromByte = 0): Promise<string | null> {
  let text: string;
  try {
    text = (await readFile(logFile)).subarray(fromByte).toString('utf8');
  } catch {
    return null;
  }
  const refusals =
    /the database system is (starting up|shutting down|not yet accepting connections|in recovery mode|not accepting connections)|terminating connection due to administrator command|password authentication failed|no pg_hba\.conf entry|connection to client lost/;
  let found: string | null = null;
  for (const line of text.split('\n')) {
    const match = /\b(FATAL|PANIC):\s+(.*\S)/.exec(line);
    if (match && !refusals.test(match[2] as string)) found = `${match[1]}: ${match[2]}`;
  }
  return found;
}

/**
 * The message of a server that failed: its log's FATAL line first (what PostgreSQL says), then
 * what the client saw (e.g. "Client has encountered a connection error"), then where the log is.
 */
export async function describeServerFailure(logFile: string, error: unknown): Promise<string> {
  const seen = error instanceof Error ? error.message : String(error);
  const fatal = await serverFailureLine(logFile);
  if (!fatal || seen.startsWith(fatal) || seen.includes(`: ${fatal}`)) return seen;
  return `${fatal} (server log ${logFile}; the drill saw: ${seen.slice(0, 1500)})`;
}

/** The last lines of a server log, for error messages (server logs never contain our password). */
export async function logTail(logFile: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}
