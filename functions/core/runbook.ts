/**
 * The runbook rendered from the configuration in force (runbook "Quarterly Recovery Drill" 4:
 * update the runbook with any tooling or path change). Every target, path, command and schedule
 * below comes from the Config, and the escalation rules from ESCALATION_RULES, so the printed
 * runbook cannot drift from what the software does.
 */
import type { Config } from './config.ts';
import { ESCALATION_CLASSES, ESCALATION_RULES } from './escalations.ts';

function code(text: string | number): string {
  return `\`${String(text).replace(/`/g, "'")}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function joinPath(root: string, path: string): string {
  if (root === '.' || root === '') return path;
  return `${root.replace(/\/+$/, '')}/${path}`;
}

/** Renders the runbook as Markdown from the configuration in force. */
export function renderRunbook(config: Config): string {
  const app = config.app;
  const smoke = config.smoke;
  const l: string[] = [];
  l.push(
    `# ${config.environment}: Backup and Recovery Runbook`,
    '',
    '> Rendered by `recovery-drill runbook` from the configuration in force: change the configuration, not this text.',
    '',
  );
  l.push(
    '## Objectives',
    `- Target RPO: at most ${config.targets.rpoMinutes} minutes (${code('targets.rpoMinutes')})`,
    `- Target RTO: at most ${config.targets.rtoMinutes} minutes from drill start until every smoke check passed (${code('targets.rtoMinutes')})`,
    `- Protected database: RDS instance ${code(config.source.dbInstanceIdentifier)} in ${code(config.source.region)}, with the app's environment template, migrations and schema`,
    '',
  );
  const copyAccount = config.isolation.copyAccountId
    ? `account ${code(config.isolation.copyAccountId)}`
    : 'the source account';
  l.push(
    '## Backup Policy',
    `1. Full snapshot daily on ${code(config.schedules.snapshot)} (${config.schedules.timezone}).`,
    '2. Continuous WAL capture by RDS automated backups (point-in-time recovery, 5-minute log upload); ' +
      `the RPO monitor checks the restorable-time lag on ${code(config.schedules.rpoCheck)}.`,
    `3. Keep at least ${config.retention.daily} daily and ${config.retention.monthly} monthly restore points; ` +
      `pruning runs on ${code(config.schedules.prune)}, deletes at most ${config.retention.maxDeletionsPerRun} per run` +
      `${config.retention.dryRun ? ' and is in dry-run mode (deletes nothing)' : ''}.`,
    `4. Isolated copies in ${code(config.isolation.copyRegion)}, ${copyAccount}, encrypted with ` +
      `${config.isolation.copyKmsKeyArn ? code(config.isolation.copyKmsKeyArn) : 'a KMS key the stack creates there'}; ` +
      `the backup bucket keeps objects under Object Lock ${config.backupBucket.objectLockMode} for ${config.backupBucket.objectLockDays} days.` +
      `${config.isolation.exportToS3 ? ' Snapshots are also exported to the bucket as Parquet (not restorable).' : ''}`,
    '',
  );
  l.push(
    '## Required Artifacts',
    '1. RDS automated backups and the daily snapshots (and their isolated copies).',
    '2. Transaction logs (WAL) for point-in-time recovery, kept by RDS within the backup retention.',
    `3. App environment template: ${code(joinPath(app.repoPath, app.envExample))}`,
    '4. Migration history and schema:',
    `   - ${code(`${joinPath(app.repoPath, app.migrationsDir)}/`)}`,
    `   - ${code(joinPath(app.repoPath, app.schema))}`,
    '   (captured with every backup in the backup bucket under `artifacts/`.)',
    '',
  );
  const appStart = app.stagingBaseUrl
    ? `Smoke-test the configured staging URL ${code(app.stagingBaseUrl)}`
    : `Start the API: ${code(app.startCommand)} (port ${app.port}${app.image ? `, image ${code(app.image)}` : ''})`;
  l.push(
    '## Restore Procedure (Staging Rehearsal)',
    `Run it all with ${code('recovery-drill start --wait')} (AWS) or ${code('recovery-drill drill --local')} (this machine); by hand:`,
    '',
    `1. Provision a clean PostgreSQL instance: restore ${code(config.source.dbInstanceIdentifier)} to a point in time into ` +
      `${code(`${config.drill.instancePrefix}-<drill id>`)} (${code(config.drill.instanceClass)}), ` +
      `giving up after ${config.drill.restoreTimeoutMinutes} minutes.`,
    '2. Restore the latest full backup (RDS picks the snapshot before the target time).',
    '3. Apply WAL up to the target time (the point-in-time restore does this).',
    '4. Apply Prisma migrations if schema drift is detected:',
    `   - ${code(app.migrateCommand)}`,
    `5. ${appStart} and verify:`,
    `   - ${code(`GET ${smoke.healthPath}`)}`,
    `   - ${code(`GET ${smoke.readyPath}`)} answers 200 within ${smoke.readyBudgetSeconds} seconds`,
    '6. Run smoke checks:',
    `   - login as ${code(smoke.adminUsername)}: ${code(`POST ${smoke.loginPath}`)}`,
    `   - account search: ${code(`GET ${smoke.accountSearchPath}${smoke.accountSearchTerm}`)}`,
    `   - day state read: ${code(`GET ${smoke.dayCurrentPath}`)}`,
    `   - integrity of the critical tables ${config.integrity.criticalTables.map(code).join(', ')} (timestamp column ${code(config.integrity.timestampColumn)})`,
    '7. Record measured recovery time and data-loss window (the drill report does: JSON, Markdown and HTML under `reports/<drill id>/`).',
    '8. (Optional) Validate the calculated SLO outcome via the API:',
    `   - ${code(`POST ${smoke.recoveryEvaluatePath}`)}`,
    '   - payload fields: `backupCompletedAt`, `restorePointAt`, `restoreCompletedAt`, `targetRpoMinutes`, `targetRtoMinutes`',
    `9. Clean up: the drill deletes its instance and tasks; a whole drill may take at most ${config.drill.timeoutMinutes} minutes.`,
    '',
  );
  l.push(
    '## Failure Escalation',
    '',
    '| class | severity | when | runbook | first action |',
    '|---|---|---|---|---|',
  );
  for (const c of ESCALATION_CLASSES) {
    const r = ESCALATION_RULES[c];
    l.push(
      `| ${code(c)} | ${r.severity} | ${cell(r.when)} | ${cell(r.runbookStep)} | ${cell(r.remediation)} |`,
    );
  }
  const channels = [
    ...config.notifications.emails.map((e) => `email ${e}`),
    ...(config.notifications.slack
      ? [
          `Slack channel ${config.notifications.slack.channelId} (workspace ${config.notifications.slack.workspaceId})`,
        ]
      : []),
    ...(config.notifications.webhookUrl ? ['an HTTPS webhook'] : []),
  ];
  l.push(
    '',
    `Escalations go to the stack's topic${channels.length > 0 ? `: ${channels.join(', ')}` : ' (no subscriptions configured)'}.`,
    '',
  );
  l.push(
    '## Quarterly Recovery Drill',
    `1. Runs on ${code(config.schedules.drill)} (${config.schedules.timezone}) in an isolated, non-production instance; start one by hand with ${code('recovery-drill start --wait')}.`,
    `2. Validates RPO (${config.targets.rpoMinutes} min) and RTO (${config.targets.rtoMinutes} min) against the targets.`,
    '3. Captures deviations and remediation actions in its report, against the targets and the previous drill; ' +
      `${code('recovery-drill history')} lists every drill and the trend.`,
    `4. Update this runbook by changing the configuration; print it again with ${code('recovery-drill runbook')}.`,
    '',
  );
  return l.join('\n');
}
