/** Command lines from the configuration, run without a shell. */

/** Splits a command line into program and arguments (quotes honoured; no shell is involved). */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let pending = false;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      pending = true;
    } else if (/\s/.test(ch)) {
      if (pending || current) words.push(current);
      current = '';
      pending = false;
    } else {
      current += ch;
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} in command: ${command}`);
  if (pending || current) words.push(current);
  if (words.length === 0) throw new Error('empty command');
  return words;
}

/** How a process ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: string | null;
}

/** "exited with code 3" / "was killed by SIGKILL". */
export function describeExit(exit: ExitStatus): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

/** The last lines of a command's log, indented under a sentence that names the log. */
export function formatTail(logFile: string, tail: readonly string[]): string {
  if (tail.length === 0) return `${logFile} is empty`;
  return `last lines of ${logFile}:\n${tail.map((l) => `  ${l}`).join('\n')}`;
}
