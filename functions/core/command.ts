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
