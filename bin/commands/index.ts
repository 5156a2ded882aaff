/**
 * Every command of the CLI: what `--help` shows, and the module that runs it, imported only when
 * the command runs (so that `--help` and `retention plan` start without the AWS SDK, the CDK, the
 * local engine). Add a command by writing its `CommandRunner` in its own file and listing it here.
 */
import { TREND_WINDOW } from '../../functions/core/history.ts';
import { BACKUP_BUCKET_OUTPUT, DRILL_STACK_HELP, DRILL_STATE_MACHINE_OUTPUT } from './stack.ts';
import type { Command } from './types.ts';

const CONFIG_HELP = 'configuration file (default: $RECOVERY_DRILL_CONFIG, then ./recovery-drill.config.json)';
const configOption = { config: { type: 'string' } } as const;
const configHelp = { config: CONFIG_HELP };

const configValidate: Command = {
  name: 'config validate',
  usage: '[--config FILE] [--print]',
  summary: 'Validate the configuration and report every problem at once (exit 2 naming each bad field).',
  options: { config: { type: 'string' }, print: { type: 'boolean' } },
  optionHelp: {
    config: CONFIG_HELP,
    print: 'print the effective configuration, defaults filled in, as JSON',
  },
  run: async (args) => (await import('./config.ts')).configValidate.run(args),
};

const retentionPlan: Command = {
  name: 'retention plan',
  usage: '--snapshots FILE [--now ISO] [--config FILE]',
  summary:
    'Print, as JSON, which snapshots a prune run would delete and why every other one is kept (deletes nothing).',
  options: { snapshots: { type: 'string' }, now: { type: 'string' }, config: { type: 'string' } },
  optionHelp: {
    snapshots: 'JSON file { "complete": true, "snapshots": [{ id, createdAt, type, status, tags }] }',
    now: 'plan as of this ISO-8601 time with a zone (default: the clock); later snapshots are kept',
    config:
      'configuration file with the retention policy (default: $RECOVERY_DRILL_CONFIG, then ./recovery-drill.config.json)',
  },
  run: async (args) => (await import('./retention.ts')).retentionPlan.run(args),
};

const drill: Command = {
  name: 'drill',
  usage:
    '--local [--target-time ISO|latest] [--from source|isolated] [--reason TEXT] [--keep] [--json] [--inject FAULT] [--config FILE]',
  summary:
    'Run a full restore drill on this machine: the synthesized state machine against an embedded PostgreSQL.\n' +
    'Starts (or creates) the local source, takes a backup if none is recent, restores, migrates, starts the\n' +
    'app (app.startCommand), smoke-tests, checks integrity, measures RPO/RTO, prints the report and cleans up.\n' +
    'Exit 0: the drill passed; 1: it failed (see the escalations), or it passed although a fault was\n' +
    'injected; 2: bad input (also a fault that cannot apply to the configured app); 130/143: SIGINT/SIGTERM\n' +
    'stopped it (it stopped its app, removed the restored copy and its secret, and wrote an "interrupted" report).\n' +
    'Every failed drill (also while preparing the source, or when its report cannot be written) is reported.\n' +
    'In AWS, start a drill with `recovery-drill start`.',
  options: {
    local: { type: 'boolean' },
    'target-time': { type: 'string' },
    from: { type: 'string' },
    reason: { type: 'string' },
    'requested-by': { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    inject: { type: 'string' },
    config: { type: 'string' },
  },
  optionHelp: {
    local: 'run on this machine (the only mode of this command)',
    'target-time': 'restore to this ISO-8601 time with a zone, or "latest" (default)',
    from: 'where the data comes from: "source" (default, local.stateDir) or "isolated" (only the copy in local.isolatedDir)',
    reason: 'why this drill runs (recorded in the report, at most 200 characters)',
    'requested-by': 'who asked for it (recorded in the report)',
    keep: 'leave the restored database running; its URL (no password) goes in the JSON report',
    json: 'print only the JSON report on stdout (progress still goes to stderr)',
    inject: 'break a real part of the drill to prove an escalation (see the list below)',
    config: 'configuration file',
  },
  async moreHelp() {
    const { FAULTS } = await import('../../functions/drill/drivers/local/faults.ts');
    return `faults for --inject:\n${Object.entries(FAULTS)
      .map(([name, spec]) => `  ${name.padEnd(22)} ${spec.does} (${spec.expects ?? 'passes with a warning'})`)
      .join('\n')}`;
  },
  run: async (args) => (await import('./drill.ts')).drill.run(args),
};

const start: Command = {
  name: 'start',
  usage:
    '[--target-time ISO|latest] [--from source|isolated-region|isolated-snapshot] [--reason TEXT] [--requested-by WHO] [--wait] [--state-machine-arn ARN] [--region R] [--config FILE]',
  summary: 'Start a restore drill of the deployed stack (AWS); with --wait, follow it and print its report.',
  options: {
    'target-time': { type: 'string' },
    from: { type: 'string' },
    reason: { type: 'string' },
    'requested-by': { type: 'string' },
    wait: { type: 'boolean' },
    'state-machine-arn': { type: 'string' },
    region: { type: 'string' },
    config: { type: 'string' },
  },
  optionHelp: {
    'target-time': 'restore to this ISO-8601 time with a zone, or "latest" (default)',
    from: 'where the data comes from: "source" (default), "isolated-region" (the replicated automated backups) or "isolated-snapshot" (the newest copied snapshot)',
    reason: 'why this drill runs (at most 200 characters; lands in the report and notifications)',
    'requested-by': 'who asked for it (default: $USER)',
    wait: 'follow the execution step by step, print the report; exit 0 passed, 1 failed',
    'state-machine-arn': `the drill state machine (default: output ${DRILL_STATE_MACHINE_OUTPUT} of ${DRILL_STACK_HELP})`,
    region: 'region of the stack and the state machine (default: from the ARN, then source.region)',
    config: CONFIG_HELP,
  },
  run: async (args) => (await import('./start.ts')).startCommand.run(args),
};

const history: Command = {
  name: 'history',
  usage: '[--local] [--json] [--last N] [--bucket NAME] [--config FILE]',
  summary: 'List past drills with their measured RPO and RTO and the trend (from the bucket, or --local).',
  options: {
    local: { type: 'boolean' },
    json: { type: 'boolean' },
    last: { type: 'string' },
    bucket: { type: 'string' },
    config: { type: 'string' },
  },
  optionHelp: {
    local: "read the local engine's reports (local.stateDir/reports/index.json) instead of the bucket",
    json: 'print the index entries and the trend as JSON',
    last: `how many measured drills the trend looks at (default ${TREND_WINDOW})`,
    bucket: `the backup bucket (default: output ${BACKUP_BUCKET_OUTPUT} of ${DRILL_STACK_HELP}, in source.region)`,
    config: CONFIG_HELP,
  },
  run: async (args) => (await import('./history.ts')).historyCommand.run(args),
};

const runbook: Command = {
  name: 'runbook',
  usage: '[--config FILE]',
  summary: 'Print the backup and recovery runbook (Markdown) rendered from the configuration in force.',
  options: configOption,
  optionHelp: configHelp,
  run: async (args) => (await import('./runbook.ts')).runbookCommand.run(args),
};

const heartbeatSql: Command = {
  name: 'heartbeat sql',
  usage: '[--config FILE] [--pg-cron --database NAME]',
  summary:
    'Print the heartbeat setup SQL for the DBA: schema, table and a role that may only insert and trim (or, with --pg-cron, a pg_cron job instead of the function).',
  options: { config: { type: 'string' }, 'pg-cron': { type: 'boolean' }, database: { type: 'string' } },
  optionHelp: {
    config: CONFIG_HELP,
    'pg-cron': 'the pg_cron alternative: the database writes its own heartbeat, no function or role',
    database: 'with --pg-cron: the application database the job writes into (pg_cron schedules from its own)',
  },
  run: async (args) => (await import('./heartbeat.ts')).heartbeatSql.run(args),
};

const localSourceStatus: Command = {
  name: 'local source status',
  usage: '[--config FILE] [--json]',
  summary:
    'Show the source, its backups, the archived WAL (size, growth rate, what pruning would remove), the restorable window and restored instances.',
  options: { ...configOption, json: { type: 'boolean' } },
  optionHelp: { ...configHelp, json: 'print the status as JSON' },
  run: async (args) => (await import('./local.ts')).localSourceStatus.run(args),
};

/** Every `local ...` command, in the order `--help` lists them. */
const localCommands: readonly Command[] = [
  {
    name: 'local source start',
    usage: '[--config FILE]',
    summary:
      'Start the local source database (creating, provisioning and seeding it first if there is none); it keeps running after this command returns.',
    options: configOption,
    optionHelp: configHelp,
    run: async (args) => (await import('./local.ts')).localSourceStart.run(args),
  },
  {
    name: 'local source stop',
    usage: '[--config FILE]',
    summary: 'Stop the local source and its trickle writer (its data, backups and archive stay).',
    options: configOption,
    optionHelp: configHelp,
    run: async (args) => (await import('./local.ts')).localSourceStop.run(args),
  },
  localSourceStatus,
  {
    name: 'local source url',
    usage: '[--config FILE] [--database NAME]',
    summary:
      "Print the running source's connection URL on the last line (it holds the password: keep it out of tickets and logs).",
    options: { ...configOption, database: { type: 'string' } },
    optionHelp: { ...configHelp, database: 'database in the URL (default: the application database)' },
    run: async (args) => (await import('./local.ts')).localSourceUrl.run(args),
  },
  { ...localSourceStatus, name: 'local status' },
  {
    name: 'local backup',
    usage: '[--config FILE] [--id ID]',
    summary:
      'Take a full backup of the running source now (low-level backup API, SHA-256 manifest), then prune old backups and WAL (local.retention).',
    options: { ...configOption, id: { type: 'string' } },
    optionHelp: { ...configHelp, id: 'backup id (default: local-YYYYMMDD-HHMMSS, UTC)' },
    run: async (args) => (await import('./local.ts')).localBackup.run(args),
  },
  {
    name: 'local prune',
    usage: '[--config FILE] [--dry-run] [--json]',
    summary:
      "Apply the retention planner to the local backups (local.retention) and remove archived WAL older than the oldest kept backup's start; prints what it keeps, removes and why (exit 1 when blocked or a deletion failed).",
    options: { ...configOption, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    optionHelp: {
      ...configHelp,
      'dry-run': 'plan and print, delete nothing',
      json: 'print the plan and its outcome as JSON',
    },
    run: async (args) => (await import('./local.ts')).localPrune.run(args),
  },
  {
    name: 'local cleanup',
    usage: '[--config FILE] [--force]',
    summary:
      'Stop and remove every restored instance and stray process the local engine started, and leftover drill secrets; keep the source and its backups. A running drill is left alone unless --force.',
    options: { ...configOption, force: { type: 'boolean' } },
    optionHelp: {
      ...configHelp,
      force:
        'also remove the instance, app and secret of a drill that is still running (that drill then fails)',
    },
    run: async (args) => (await import('./local.ts')).localCleanup.run(args),
  },
];

export const commands: readonly Command[] = [
  configValidate,
  retentionPlan,
  drill,
  start,
  history,
  runbook,
  heartbeatSql,
  ...localCommands,
];
