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

/**
 * A command failed for a reason outside the command line and the configuration: AWS could not be
 * reached or refused (no credentials, no such stack or output). Exit 1 with the message; it names
 * what to do. Exit 2 is only for what the user can fix in the command or the configuration.
 */
export class CommandFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandFailure';
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

/** What a command runs with: its parsed options and positionals, and where it reads and writes. */
export interface CommandArgs {
  readonly values: OptionValues;
  readonly positionals: string[];
  readonly io: CommandIo;
}

/**
 * A command's code, in the command's own module: `index.ts` imports that module only when the
 * command runs, so `--help` and every other command start without it (and its SDKs).
 */
export interface CommandRunner {
  run(args: CommandArgs): Promise<number>;
}

/** A command as `--help` shows it, and how it runs (see `CommandRunner`). */
export interface Command extends CommandRunner {
  /** Words after `recovery-drill`, e.g. `retention plan`. */
  readonly name: string;
  /** Arguments shown after the name in `--help`, e.g. `--snapshots FILE [--now ISO]`. */
  readonly usage: string;
  readonly summary: string;
  readonly options?: NonNullable<ParseArgsConfig['options']>;
  readonly optionHelp?: Readonly<Record<string, string>>;
  readonly allowPositionals?: boolean;
  /** Help after the options that needs more than the catalog holds (imported for `COMMAND --help` only). */
  moreHelp?(): Promise<string>;
}

/** Reads a string option, or undefined. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
