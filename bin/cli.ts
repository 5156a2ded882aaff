/**
 * The `recovery-drill` command line. Exit codes everywhere: 0 done, 1 a check or drill failed or
 * AWS could not be reached or refused (credentials, a missing stack), 2 bad input that the user can
 * fix in the command or the configuration (the message on stderr names the field and the value;
 * found before anything is called), 130/143 a drill stopped by
 * SIGINT/SIGTERM (it cleaned up and reported that). Any other error is one line people read;
 * its stack only with `--debug`.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../functions/core/errors.ts';
import { redactCredentials } from '../functions/core/redact.ts';
import { commands } from './commands/index.ts';
import { type Command, CommandFailure, type CommandIo, EXIT, UsageError } from './commands/types.ts';

async function usageOf(command: Command): Promise<string> {
  const lines = [`usage: recovery-drill ${command.name} ${command.usage}`.trimEnd(), '', command.summary];
  const options = Object.entries(command.options ?? {});
  if (options.length > 0) {
    lines.push('', 'options:');
    for (const [name, spec] of options) {
      const flag = `--${name}${spec.type === 'string' ? ' VALUE' : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${command.optionHelp?.[name] ?? ''}`.trimEnd());
    }
  }
  lines.push(`  ${'--help'.padEnd(28)} show this help`);
  if (command.moreHelp) lines.push('', await command.moreHelp());
  return lines.join('\n');
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: recovery-drill COMMAND [OPTIONS]',
    '',
    'Keeps a PostgreSQL database recoverable and proves it. Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary.split('\n')[0]}`),
    '',
    "Run `recovery-drill COMMAND --help` for a command's options; `--debug` (any command) shows an error's stack.",
    'Exit codes: 0 done, 1 a check or drill failed or AWS was unreachable, 2 bad input in the command or the configuration, 130/143 a drill interrupted by SIGINT/SIGTERM.',
  ].join('\n');
}

/** Finds the command whose (possibly multi-word) name is the longest prefix of argv. */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((word, i) => argv[i] === word)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

const defaultIo: CommandIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
  cwd: process.cwd(),
};

export async function main(args: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const debug = args.includes('--debug');
  const argv = args.filter((a) => a !== '--debug');
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(overview());
    return argv.length === 0 ? EXIT.badInput : EXIT.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    const prefix = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (prefix.length > 0 && (argv.length === 1 || argv[1] === '--help')) {
      io.out(
        [`${argv[0]} commands:`, ...prefix.map((c) => `  recovery-drill ${c.name}  ${c.summary}`)].join('\n'),
      );
      return argv.length === 1 ? EXIT.badInput : EXIT.ok;
    }
    io.err(`recovery-drill: unknown command "${argv.join(' ')}"\n\n${overview()}`);
    return EXIT.badInput;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(await usageOf(command));
    return EXIT.ok;
  }
  try {
    const parsed = parseArgs({
      args: rest,
      options: command.options ?? {},
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
    return await command.run({ values: parsed.values, positionals: parsed.positionals, io });
  } catch (error) {
    // Imported here, not on top: zod is loaded only by the commands that read the configuration.
    const { ConfigError } = await import('../functions/core/config.ts');
    if (error instanceof ConfigError || error instanceof InputError || error instanceof UsageError) {
      io.err(`recovery-drill ${command.name}: ${error.message}`);
      return EXIT.badInput;
    }
    if (error instanceof CommandFailure) {
      io.err(redactCredentials(`recovery-drill ${command.name}: ${error.message}`));
      if (debug && error.stack) io.err(redactCredentials(error.stack));
      return EXIT.failed;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`recovery-drill ${command.name}: ${error.message}\n\n${await usageOf(command)}`);
      return EXIT.badInput;
    }
    // Anything else failed the command: one line a person reads (a damaged state file names
    // itself and what to do); the stack only for whoever asked for it.
    const message = error instanceof Error ? `${error.message}` : String(error);
    io.err(redactCredentials(`recovery-drill ${command.name}: ${message}`));
    if (debug && error instanceof Error && error.stack) io.err(redactCredentials(error.stack));
    else io.err('(run again with --debug for the stack)');
    return EXIT.failed;
  }
}
