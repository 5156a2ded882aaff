/**
 * Keeps a local source's `trafficCommand` running after the CLI that started it has exited, with
 * its output redacted into the state folder's log (a detached command writing straight into a file
 * would bypass the redaction). SIGTERM or SIGINT stops the command (SIGKILL after 5 s) and then
 * this runner; when the command ends on its own, the runner ends with its exit code.
 *
 * Started by `source.ts` as `node --import tsx traffic-runner.ts LOG_FILE` with the command in
 * `RECOVERY_DRILL_TRAFFIC` (JSON `{ command, cwd }`); the log file on the command line is what
 * proves to `local cleanup` that a pid is this runner.
 */
import { describeExit } from '../core/command.ts';
import { spawnLogged, urlPassword } from './logged-command.ts';

const KILL_AFTER_MS = 5_000;

async function main(): Promise<number> {
  const logFile = process.argv[2];
  const spec = JSON.parse(process.env.RECOVERY_DRILL_TRAFFIC ?? 'null') as {
    command?: unknown;
    cwd?: unknown;
  } | null;
  if (!logFile || typeof spec?.command !== 'string' || typeof spec.cwd !== 'string') {
    process.stderr.write(
      'traffic-runner: usage: RECOVERY_DRILL_TRAFFIC={"command","cwd"} traffic-runner.ts LOG\n',
    );
    return 2;
  }
  const env = { ...process.env };
  delete env.RECOVERY_DRILL_TRAFFIC;
  const run = await spawnLogged({
    command: spec.command,
    cwd: spec.cwd,
    env,
    logFile,
    secrets: urlPassword(env.DATABASE_URL),
  });
  const stop = () => {
    run.child.kill('SIGTERM');
    setTimeout(() => run.child.kill('SIGKILL'), KILL_AFTER_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const exit = await run.exited;
  process.stderr.write(`traffic-runner: ${spec.command} ${describeExit(exit)}\n`);
  return exit.code ?? 1;
}

process.exitCode = await main();
