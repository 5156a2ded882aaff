/**
 * The deployed stack the AWS commands read when an option is not given, and the outputs they read
 * (lib/recovery-drill-stack.ts declares them): in a module of their own so that `--help` shows
 * them without loading the AWS SDK.
 */
export const DRILL_STACK_NAME = 'RecoveryDrillStack';
/** The stack output naming the drill's state machine. */
export const DRILL_STATE_MACHINE_OUTPUT = 'DrillStateMachineArn';
/** The stack output naming the backup bucket, where the drills' reports and their index live. */
export const BACKUP_BUCKET_OUTPUT = 'BackupBucketName';
