/** Every command of the CLI. Add a command by exporting it from its own file and listing it here. */
import { configValidate } from './config.ts';
import { drill } from './drill.ts';
import { heartbeatSql } from './heartbeat.ts';
import { historyCommand } from './history.ts';
import { localCommands } from './local.ts';
import { retentionPlan } from './retention.ts';
import { runbookCommand } from './runbook.ts';
import { startCommand } from './start.ts';
import type { Command } from './types.ts';

export const commands: readonly Command[] = [
  configValidate,
  retentionPlan,
  drill,
  startCommand,
  historyCommand,
  runbookCommand,
  heartbeatSql,
  ...localCommands,
];
