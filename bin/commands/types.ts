import type { ParseArgsConfig } from 'node:util';

/** 130/143: a drill stopped by SIGINT/SIGTERM (128 + the signal's number, as shells report it). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interruptedByInt: 130, interruptedByTerm: 143 } as const;

/** A malformed command line (exit 2). */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** Where a command writes and what it may read of its surroundings: injected so tests can run commands in-process. */
export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  /** Words after `recovery-drill`, e.g. `retention plan`. */
  readonly name: string;
  /** Arguments shown after the name in `--help`, e.g. `--snapshots FILE [--now ISO]`. */
  readonly usage: string;
  readonly summary: string;
  readonly options?: NonNullable<ParseArgsConfig['options']>;
  readonly optionHelp?: Readonly<Record<string, string>>;
  readonly allowPositionals?: boolean;
  run(args: { values: OptionValues; positionals: string[]; io: CommandIo }): Promise<number>;
}

/** Reads a string option, or undefined. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
