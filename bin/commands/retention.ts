import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseRetentionInput, planRetention } from '../../functions/core/retention.ts';
import { parseIsoWithZone } from '../../functions/core/time.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { type CommandRunner, EXIT, stringOption, UsageError } from './types.ts';

/**
 * `retention plan`: the prune function's exact decision, offline. On-call engineers run it on a
 * saved listing before trusting a prune run (or after one, to audit it).
 */
export const retentionPlan: CommandRunner = {
  async run({ values, io }) {
    const file = stringOption(values, 'snapshots');
    if (!file)
      throw new UsageError('--snapshots: a JSON file with the snapshot listing is required; got nothing');
    let now = new Date();
    const nowText = stringOption(values, 'now');
    if (nowText !== undefined) {
      const ms = parseIsoWithZone(nowText);
      if (ms === null)
        throw new UsageError(
          `--now: expected an ISO-8601 time with a zone, e.g. "2026-11-26T03:00:00Z"; got ${JSON.stringify(nowText)}`,
        );
      now = new Date(ms);
    }
    const { config } = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    const path = resolve(io.cwd, file);
    if (!existsSync(path)) throw new UsageError(`--snapshots: no such file ${JSON.stringify(path)}`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--snapshots: cannot read ${JSON.stringify(path)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        `--snapshots: ${JSON.stringify(path)} is not valid JSON: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const input = parseRetentionInput(document);
    const { daily, monthly, maxDeletionsPerRun } = config.retention;
    const plan = planRetention(input, { daily, monthly, maxDeletionsPerRun }, now);
    io.out(JSON.stringify(plan, null, 2));
    return EXIT.ok;
  },
};
