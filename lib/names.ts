/**
 * The names a deployment gives to things AWS knows by name: its stacks, its key alias and its
 * physical resource names. Each carries the configured `environment`, so that staging and
 * production (or any two environments) live side by side in one account and region, and
 * synthesize into one CDK app, without a collision.
 *
 * `production`, the default environment, keeps the names deployments had before environments
 * were named, so an existing deployment upgrades in place (no replaced stack, no new key alias).
 * Every other environment appends `-<environment>`. The names that always carried the
 * environment (the dashboard, the Slack channel configuration) carry it for production too.
 *
 * No CDK import here: the command line (`bin/`) finds the deployed stack by the same name.
 */

/** The environment whose stacks and alias keep their names from before environments were named. */
export const UNSUFFIXED_ENVIRONMENT = 'production';

/** Every name a deployment gives, by what it names, before the environment is added. */
export const DEPLOYMENT_NAMES = {
  /** The stack in `source.region` (backups, the drill, monitoring). */
  drillStack: 'RecoveryDrillStack',
  /** The drill stack in `isolation.copyRegion`: drills from the isolated copy run there. */
  copyRegionDrillStack: 'RecoveryDrillCopyRegionStack',
  /** Its state machine, started by name from the source region (no cross-region reference). */
  copyRegionStateMachine: 'RecoveryDrillCopyRegionDrill',
  /** The stack in `isolation.copyRegion` holding the copy key (when the key is ours). */
  isolationStack: 'RecoveryDrillIsolationStack',
  /**
   * The stack in `isolation.copyAccountId` (and `isolation.copyRegion`) that owns the isolation
   * account's copies; deployed with that account's credentials.
   */
  copyAccountStack: 'RecoveryDrillCopyAccountStack',
  /** The copy key's alias: the drill stack's functions name the key by it (no cross-region reference). */
  copyKeyAlias: 'alias/recovery-drill-snapshot-copies',
  /** The CloudWatch dashboard. */
  dashboard: 'recovery-drill',
  /** The AWS Chatbot Slack channel configuration (when Slack is configured). */
  slackConfiguration: 'recovery-drill',
} as const;

/** What a deployment names: a key of {@link DEPLOYMENT_NAMES}. */
export type DeploymentNamed = keyof typeof DEPLOYMENT_NAMES;

/** Names that carried `-<environment>` before item 8, production's included: they keep it. */
const ALWAYS_SUFFIXED: ReadonlySet<DeploymentNamed> = new Set(['dashboard', 'slackConfiguration']);

/**
 * The name `what` has in `environment`: `<base>-<environment>`, or the bare base for production's
 * stacks and alias (backward compatible). `environment` is the validated config field
 * (`^[a-z0-9-]{1,32}$`), which keeps every result a valid stack name, alias and resource name.
 */
export function deploymentName(environment: string, what: DeploymentNamed): string {
  const base = DEPLOYMENT_NAMES[what];
  if (environment === UNSUFFIXED_ENVIRONMENT && !ALWAYS_SUFFIXED.has(what)) return base;
  return `${base}-${environment}`;
}
