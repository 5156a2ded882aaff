/**
 * What the drill's AWS adapters need of the resources the stack created (ARNs, names), taken from
 * the function's decoded settings; the drill's configuration travels in the same envelope.
 */
import { type FunctionSettings, SettingsError } from '../../../core/settings.ts';

/** Environment of the three drill step functions (control, checks, reporting). */
export interface DrillEnv {
  /** Backup bucket: captured artifacts are read from it, reports written to it. */
  readonly bucket: string;
  /** Escalation topic. */
  readonly topicArn: string;
  /** The stack-owned drill secret the ECS task definitions read the connection from. */
  readonly drillSecretArn: string;
  /** DB subnet group of isolated subnets the drill instance is restored into. */
  readonly dbSubnetGroupName: string;
  readonly dbSecurityGroupIds: readonly string[];
  /** ECS cluster and app task: null when the configuration smoke-tests a staging URL instead. */
  readonly app: AppTaskSettings | null;
  /** The drill state machine's log group, linked from notifications; optional. */
  readonly logGroupName: string | null;
  /** The state table: drill escalations fold into incidents there; optional. */
  readonly stateTable: string | null;
  /** The region the drill runs in (its instance, secret, cluster): the region of its data. */
  readonly region: string;
  /** The bucket the checks read the captured artifacts from, in {@link region}. */
  readonly artifactsBucket: string;
}

/** Where the app's ECS task runs: private subnets, no public IP. */
export interface AppTaskSettings {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
}

/**
 * The drill functions' view of their decoded settings (`RECOVERY_DRILL_SETTINGS`), read once at
 * cold start: the ECS task is required unless the configuration smoke-tests `app.stagingBaseUrl`.
 * @throws SettingsError naming each missing resource of the app's task.
 */
export function drillEnvOf(settings: FunctionSettings<'drill'>): DrillEnv {
  const r = settings.resources;
  let app: AppTaskSettings | null = null;
  if (settings.config.app.stagingBaseUrl === null) {
    const missing = (
      [
        ['clusterArn', r.clusterArn],
        ['taskDefinitionArn', r.taskDefinitionArn],
      ] as const
    )
      .filter(([, value]) => value === null)
      .map(
        ([name]) => `resource ${name}: expected the app's ECS task (app.stagingBaseUrl is null); got null`,
      );
    if (r.appSubnetIds.length === 0) missing.push('resource appSubnetIds: expected at least one subnet id');
    if (missing.length > 0) throw new SettingsError('drill', missing);
    app = {
      clusterArn: r.clusterArn as string,
      taskDefinitionArn: r.taskDefinitionArn as string,
      subnetIds: r.appSubnetIds,
      securityGroupIds: r.appSecurityGroupIds,
    };
  }
  return {
    bucket: r.bucket,
    topicArn: r.topicArn,
    drillSecretArn: r.drillSecretArn,
    dbSubnetGroupName: r.dbSubnetGroupName,
    dbSecurityGroupIds: r.dbSecurityGroupIds,
    app,
    logGroupName: r.logGroupName,
    stateTable: r.stateTable,
    region: r.drillRegion ?? settings.config.source.region,
    artifactsBucket: r.artifactsBucket ?? r.bucket,
  };
}
