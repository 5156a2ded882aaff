/**
 * `Monitoring`: the CloudWatch side of issue 6. One dashboard that shows at a glance whether
 * restores are proven (RPO and RTO per drill against their targets, the days since a drill last
 * passed) and whether backups are current (restorable-time lag, newest snapshot age, job
 * outcomes), and the alarms that page through the escalation topic when they are not.
 *
 * The metrics are the EMF metrics the functions publish (namespace `RecoveryDrill`, dimensions
 * `service` = `recovery-drill` and `environment`), plus the state machine's and Lambda's own.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Config, checkConfigSections } from '../functions/core/config.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../functions/core/contracts.ts';
import { DRILL_STEPS } from '../functions/core/escalations.ts';
import { ABORT_CLEANUP_JOB } from '../functions/drill/drivers/aws/abort-cleanup.ts';
import { deploymentName } from './names.ts';
import { checkInteger, withDefaults } from './props.ts';

/** Snapshots are daily: the newest may be a day plus the RPO target old before it is stale. */
const SNAPSHOT_INTERVAL_MINUTES = 24 * 60;
/** CloudWatch keeps 1-day data points for 455 days: the drill graphs show the last 400. */
const DRILL_HISTORY = '-P400D';
/** Backup graphs: the last two weeks. */
const BACKUP_HISTORY = '-P14D';

/**
 * The jobs that publish `JobFailed` (with a `job` dimension); `snapshot` includes the isolated
 * copy; `abortCleanup` is the cleanup after an aborted drill execution (1 when it escalated
 * CLEANUP_FAILED: a copy of production data may still be running).
 */
export const MONITORED_JOBS = ['snapshot', 'prune', 'artifacts', ABORT_CLEANUP_JOB] as const;

/** What on-call reads in each job's alarm: what failed and where to look. */
const JOB_FAILURES: Record<(typeof MONITORED_JOBS)[number], string> = {
  snapshot:
    "the snapshot job failed (the daily snapshot or its isolated copy). Its escalation and the function's logs say why.",
  prune: "the prune job failed. Its escalation and the function's logs say why.",
  artifacts: "the artifacts job failed. Its escalation and the function's logs say why.",
  [ABORT_CLEANUP_JOB]:
    "the cleanup after an aborted drill execution failed (CLEANUP_FAILED): a drill instance or app task holding a copy of production data may still be running. Read the escalation (it names what is left), delete what carries the execution's recovery-drill:drill-id tag, then read the abort cleanup function's logs.",
};

/** The sections of the configuration the dashboard and alarms are built from. */
export const MONITORING_SECTIONS = ['environment', 'targets', 'source', 'isolation'] as const;

export interface MonitoringProps {
  /**
   * The validated configuration, or the sections of it named in {@link MONITORING_SECTIONS}:
   * `environment` (the `environment` dimension of every metric read here), `targets.rpoMinutes`
   * (the lag alarms' threshold, the RPO graph's annotation), `targets.rtoMinutes` (the RTO graph's
   * annotation), `source.region` and `isolation.copyRegion` (the snapshot-age and lag graphs), and
   * `isolation.pitrReplication` (the copy region's lag alarm and graph line).
   */
  readonly config: Pick<Config, (typeof MONITORING_SECTIONS)[number]>;
  /** Every alarm notifies here, on ALARM and again on OK. */
  readonly topic: sns.ITopic;
  /** The drill's state machine: failed and timed-out executions alarm. */
  readonly stateMachine: sfn.IStateMachine;
  /** The functions whose errors alarm, by a short name used in the alarm's id and description. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /**
   * Where passed drills are recorded for the "no passed drill" alarm: the reporting function may
   * put items into the table (it learns the table from its settings, `RestoreDrill.stateTable`).
   * Without it the alarm counts from its baseline.
   */
  readonly passedDrillRecord?: {
    readonly table: dynamodb.ITable;
    readonly tableKey?: kms.IKey;
    readonly reportingFunction: lambda.Function;
  };
  /**
   * Alarm when no drill has passed for longer than this (the runbook drills quarterly).
   * @default 100
   */
  readonly maxDaysWithoutPassedDrill?: number;
}

const DEFAULTS = { maxDaysWithoutPassedDrill: 100 };

/** The dashboard and alarms of one environment. */
export class Monitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const p = withDefaults(DEFAULTS, props);
    // The targets may be fractions of a minute, as the schema allows: CloudWatch thresholds are doubles.
    checkConfigSections(p.config, MONITORING_SECTIONS);
    checkInteger('Monitoring.maxDaysWithoutPassedDrill', p.maxDaysWithoutPassedDrill, 1, 450);
    const environment = p.config.environment;
    const rpoTargetMinutes = p.config.targets.rpoMinutes;
    const rtoTargetMinutes = p.config.targets.rtoMinutes;

    const dims = { service: SERVICE_NAME, environment };
    const metric = (
      metricName: string,
      statistic: string,
      period: Duration,
      extra: Record<string, string> = {},
      label?: string,
    ) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { ...dims, ...extra },
        statistic,
        period,
        ...(label ? { label } : {}),
      });

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const action = new cloudwatchActions.SnsAction(p.topic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, alarmId, alarmProps);
      a.addAlarmAction(action);
      a.addOkAction(action);
      alarms[alarmId] = a;
      return a;
    };
    const prefix = `recovery-drill ${environment}:`;

    // --- drill -------------------------------------------------------------------------------------
    alarm('DrillFailedAlarm', {
      alarmDescription: `${prefix} a drill execution failed. Open the execution in Step Functions, read the drill report in the backup bucket, then follow the runbook step of its escalation.`,
      metric: p.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('DrillTimedOutAlarm', {
      alarmDescription: `${prefix} a drill execution timed out. A restored instance or app task may still be running: delete what carries the execution's recovery-drill:drill-id tag, then read the execution history.`,
      metric: p.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // CloudWatch looks back at most one day (period × evaluation periods ≤ 86,400 s), so a quarterly
    // DrillPassed point cannot show a 100-day gap. The age lives in the data instead: the RPO watch
    // republishes the days since the last passed drill every check, from the record the reporting
    // function writes. Three silent hours breach too: a watch that stopped proves nothing.
    alarm('NoPassedDrillAlarm', {
      alarmDescription: `${prefix} no drill has passed for more than ${p.maxDaysWithoutPassedDrill} days (or the RPO watch that measures it has stopped). Run a drill: recovery-drill start.`,
      metric: metric('DaysSinceLastPassedDrill', 'Maximum', Duration.hours(1)),
      threshold: p.maxDaysWithoutPassedDrill,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // --- backups -----------------------------------------------------------------------------------
    alarm('RestorableLagAlarm', {
      alarmDescription: `${prefix} the source's point-in-time restore lags more than the RPO target of ${rpoTargetMinutes} min. Check the instance's automated backups (backup retention > 0) and the BACKUP_STALE escalation.`,
      metric: metric('RestorableLagMinutes', 'Maximum', Duration.hours(1)),
      threshold: rpoTargetMinutes,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const replicates =
      p.config.isolation.pitrReplication && p.config.isolation.copyRegion !== p.config.source.region;
    if (replicates) {
      const copyRegion = p.config.isolation.copyRegion;
      // The copy region's own alarm: losing the source region leaves only this restore window.
      alarm('ReplicatedRestorableLagAlarm', {
        alarmDescription: `${prefix} the replicated point-in-time restore in the copy region ${copyRegion} lags more than the RPO target of ${rpoTargetMinutes} min (or the RPO watch stopped reporting it). Check the automated backups replication of the source in ${copyRegion} (RDS console, Automated backups, Replicated) and the BACKUP_STALE escalation of the copy region.`,
        metric: metric('RestorableLagMinutes', 'Maximum', Duration.hours(1), {
          location: 'copy',
          region: copyRegion,
        }),
        threshold: rpoTargetMinutes,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No data: replication never started or stopped; the RPO watch escalates it by name.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    for (const job of MONITORED_JOBS) {
      const name = job[0]?.toUpperCase() + job.slice(1);
      alarm(`${name}JobFailedAlarm`, {
        alarmDescription: `${prefix} ${JOB_FAILURES[job]}`,
        metric: metric('JobFailed', 'Sum', Duration.hours(1), { job }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [name, fn] of Object.entries(p.functions)) {
      const alarmName = name[0]?.toUpperCase() + name.slice(1);
      alarm(`${alarmName}ErrorsAlarm`, {
        alarmDescription: `${prefix} the ${name} function returned an error. Read its log group; a failed backup invocation also lands in the FailedInvocations queue.`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.alarms = alarms;

    if (p.passedDrillRecord) {
      const { table, tableKey, reportingFunction } = p.passedDrillRecord;
      reportingFunction.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'RecordPassedDrill',
          // PutItem records the passed drill; UpdateItem folds drill escalations into incidents.
          actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [table.tableArn],
        }),
      );
      if (tableKey) {
        reportingFunction.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'RecordPassedDrillEncrypted',
            actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
            resources: [tableKey.keyArn],
            conditions: {
              StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` },
            },
          }),
        );
      }
    }

    // --- dashboard ---------------------------------------------------------------------------------
    const day = Duration.days(1);
    const target = (value: number, label: string): cloudwatch.HorizontalAnnotation => ({
      value,
      label,
      color: cloudwatch.Color.RED,
    });
    const snapshotLimit = SNAPSHOT_INTERVAL_MINUTES + rpoTargetMinutes;
    const locations = [
      ['source', p.config.source.region],
      ['copy', p.config.isolation.copyRegion],
    ] as const;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: deploymentName(environment, 'dashboard'),
      defaultInterval: Duration.days(14),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(alarms),
        width: 24,
        height: 4,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `RPO per drill (minutes), target ${rpoTargetMinutes}`,
        left: [metric('RpoMinutes', 'Maximum', day, {}, 'measured RPO')],
        leftAnnotations: [target(rpoTargetMinutes, `RPO target ${rpoTargetMinutes} min`)],
        leftYAxis: { min: 0, label: 'minutes', showUnits: false },
        start: DRILL_HISTORY,
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `RTO per drill (minutes), target ${rtoTargetMinutes}`,
        left: [metric('RtoMinutes', 'Maximum', day, {}, 'measured RTO')],
        leftAnnotations: [target(rtoTargetMinutes, `RTO target ${rtoTargetMinutes} min`)],
        leftYAxis: { min: 0, label: 'minutes', showUnits: false },
        start: DRILL_HISTORY,
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drill outcome (1 passed, 0 failed) and days since one passed',
        left: [metric('DrillPassed', 'Minimum', day, {}, 'drill passed')],
        right: [metric('DaysSinceLastPassedDrill', 'Maximum', day, {}, 'days since a drill passed')],
        rightAnnotations: [
          target(p.maxDaysWithoutPassedDrill, `alarm after ${p.maxDaysWithoutPassedDrill} days`),
        ],
        leftYAxis: { min: 0, max: 1, showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
        start: DRILL_HISTORY,
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Restore and step durations of the last drills (seconds)',
        left: DRILL_STEPS.filter((s) => s !== 'report' && s !== 'notify').map((step) =>
          metric('StepSeconds', 'Maximum', day, { step }, step),
        ),
        stacked: true,
        start: DRILL_HISTORY,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drill executions',
        left: [
          p.stateMachine.metricSucceeded({ period: day, statistic: 'Sum', label: 'succeeded' }),
          p.stateMachine.metricFailed({ period: day, statistic: 'Sum', label: 'failed' }),
          p.stateMachine.metricTimedOut({ period: day, statistic: 'Sum', label: 'timed out' }),
        ],
        start: DRILL_HISTORY,
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Restorable-time lag (minutes) per location, RPO target ${rpoTargetMinutes}`,
        left: (replicates ? locations : locations.slice(0, 1)).map(([location, region]) =>
          metric(
            'RestorableLagMinutes',
            'Maximum',
            Duration.minutes(15),
            { location, region },
            `${location} ${region}`,
          ),
        ),
        leftAnnotations: [target(rpoTargetMinutes, `RPO target ${rpoTargetMinutes} min`)],
        leftYAxis: { min: 0, label: 'minutes', showUnits: false },
        start: BACKUP_HISTORY,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: `Newest snapshot age (minutes), stale over ${snapshotLimit}`,
        left: locations.map(([location, region]) =>
          metric(
            'NewestSnapshotAgeMinutes',
            'Maximum',
            Duration.minutes(15),
            { location, region },
            `${location} ${region}`,
          ),
        ),
        leftAnnotations: [target(snapshotLimit, `stale: a day plus the RPO target (${snapshotLimit} min)`)],
        leftYAxis: { min: 0, label: 'minutes', showUnits: false },
        start: BACKUP_HISTORY,
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Job outcomes: failed runs per day',
        left: MONITORED_JOBS.map((job) => metric('JobFailed', 'Sum', day, { job }, `${job} failed`)),
        right: [metric('SnapshotsDeleted', 'Sum', day, {}, 'snapshots deleted by prune')],
        start: BACKUP_HISTORY,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors per hour',
        left: Object.entries(p.functions).map(([name, fn]) =>
          fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum', label: name }),
        ),
        start: BACKUP_HISTORY,
        width: 12,
      }),
    );
  }
}
