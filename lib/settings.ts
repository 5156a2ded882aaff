/**
 * The stack's side of the settings channel (`functions/core/settings.ts`): each function's slice of
 * the validated configuration and its resources, encoded into the one environment variable. The
 * envelope may hold deploy-time values (ARNs, names): `Stack.toJsonString` keeps them as tokens.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { ConfigError } from '../functions/core/config.ts';
import {
  type ConfigSlice,
  SETTINGS_VARIABLE,
  type SettingsFunction,
  type SettingsResources,
  settingsEnvelope,
} from '../functions/core/settings.ts';

/** Lambda refuses environments over 4 KB (names and values, resolved). */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** What a deploy-time value (an ARN, a generated name) is counted as before it is known. */
const TOKEN_ESTIMATE = 128;
/** Room left for the other variables the stack sets (Powertools' service and namespace). */
const OTHER_VARIABLES = 160;

/**
 * The function's environment: `RECOVERY_DRILL_SETTINGS` and nothing else of ours.
 * @throws ConfigError when the settings would not fit Lambda's 4 KB, naming the largest sections.
 */
export function settingsEnvironment<F extends SettingsFunction>(
  scope: IConstruct,
  fn: F,
  config: ConfigSlice<F>,
  resources: { readonly [R in keyof SettingsResources<F>]: unknown },
): Record<string, string> {
  const envelope = settingsEnvelope(fn, config, resources);
  const estimate = JSON.stringify(envelope, (_key, value: unknown) =>
    typeof value === 'string' && Token.isUnresolved(value) ? 'x'.repeat(TOKEN_ESTIMATE) : value,
  ).length;
  if (estimate + SETTINGS_VARIABLE.length + OTHER_VARIABLES > LAMBDA_ENVIRONMENT_LIMIT) {
    const largest = Object.entries(envelope.config)
      .map(([section, value]) => [section, JSON.stringify(value).length] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3);
    throw new ConfigError([
      {
        path: largest[0]?.[0] ?? '(configuration)',
        value: `about ${estimate} bytes for the ${fn} function`,
        expected: `settings that fit Lambda's 4 KB environment; the largest sections are ${largest
          .map(([section, size]) => `${section} (${size} bytes)`)
          .join(', ')}`,
      },
    ]);
  }
  return { [SETTINGS_VARIABLE]: Stack.of(scope).toJsonString(envelope) };
}
