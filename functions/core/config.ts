/**
 * The one configuration of recovery-drill: its schema, the runbook's values as defaults, and
 * validation that reports every problem at once with the field path, the value and what was
 * expected. Pure: reading the file is `functions/shared/config-file.ts`'s job.
 */
import { z } from 'zod';
import { appSections } from './config/app.ts';
import { backupSections } from './config/backups.ts';
import { crossFieldProblems } from './config/cross-field.ts';
import { drillSections } from './config/drill.ts';
import { localSections } from './config/local.ts';
import { ConfigError, type ConfigProblem, issueProblems } from './config/problems.ts';

export { ConfigError, type ConfigProblem } from './config/problems.ts';

export const configSchema = z.strictObject({
  /** Shown in every escalation subject so on-call knows which deployment speaks. */
  environment: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/)
    .default('production'),
  ...backupSections,
  ...appSections,
  ...drillSections,
  ...localSections,
});

/** Configuration as written in `recovery-drill.config.json`: every field with a default may be left out. */
export type ConfigInput = z.input<typeof configSchema>;
/** Configuration after defaults: every field present. */
export type Config = z.output<typeof configSchema>;

/**
 * Checks the sections of a configuration a construct is given, against the same schema and
 * cross-field rules as {@link parseConfig}: a construct built from a hand-made configuration is
 * refused with the config path (`retention.daily`), not a construct prop.
 * @throws ConfigError listing every problem at once.
 */
export function checkConfigSections<S extends keyof Config>(
  config: Pick<Config, S>,
  sections: readonly S[],
  source = 'configuration',
): void {
  const problems: ConfigProblem[] = [];
  for (const section of sections) {
    const value = (config as Record<string, unknown>)[section];
    const result = configSchema.shape[section].safeParse(value, { reportInput: true });
    if (!result.success) problems.push(...issueProblems(result.error.issues, value, [section]));
  }
  if (problems.length === 0) problems.push(...crossFieldProblems(config as Partial<Config>));
  if (problems.length > 0) throw new ConfigError(problems, source);
}

/**
 * Validates a parsed configuration document and merges it over the defaults.
 * @throws ConfigError listing every problem at once.
 */
export function parseConfig(input: unknown, source?: string): Config {
  const result = configSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ConfigError(issueProblems(result.error.issues, input), source);
  const problems = crossFieldProblems(result.data);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return result.data;
}
