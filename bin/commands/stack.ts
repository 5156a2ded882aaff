/**
 * The deployed stack the AWS commands read when an option is not given, and the outputs they read
 * (lib/recovery-drill-stack.ts declares them): in a module of their own so that `--help` shows
 * them without loading the AWS SDK.
 */
import { DEPLOYMENT_NAMES, deploymentName, UNSUFFIXED_ENVIRONMENT } from '../../lib/names.ts';

/** How `--help` names the stack: production's name, and the rule for the other environments. */
export const DRILL_STACK_HELP = `${DEPLOYMENT_NAMES.drillStack} (${DEPLOYMENT_NAMES.drillStack}-<environment> outside ${UNSUFFIXED_ENVIRONMENT})`;

/** The drill stack of the configured `environment`: the name `cdk deploy` gave it (lib/names.ts). */
export function drillStackName(environment: string): string {
  return deploymentName(environment, 'drillStack');
}
/** The copy region's drill stack (drills from the isolated copy run there): lib/copy-region-drill-stack.ts. */
export function copyRegionDrillStackName(environment: string): string {
  return deploymentName(environment, 'copyRegionDrillStack');
}
/** The stack output naming the drill's state machine (in either drill stack). */
export const DRILL_STATE_MACHINE_OUTPUT = 'DrillStateMachineArn';
/** The stack output naming the backup bucket, where the drills' reports and their index live. */
export const BACKUP_BUCKET_OUTPUT = 'BackupBucketName';
