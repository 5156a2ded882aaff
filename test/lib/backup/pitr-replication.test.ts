/**
 * The stack's side of point-in-time restore in the copy region: the custom resource that sets the
 * replication up on deploy (run by the snapshot function, which keeps it daily), the snapshot and
 * RPO monitor roles' replication statements, and none of it when replication is off or cannot
 * apply (the copy region is the source's).
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app.ts';
import { appFiles, flattenTokens, makeApp, makeConfig, makeTree, removeDir } from '../fixtures.ts';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };

function statements(template: Template, sid: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
    (
      p as { Properties: { PolicyDocument: { Statement: Statement[] } } }
    ).Properties.PolicyDocument.Statement.filter((s) => s.Sid === sid),
  );
}

describe('PITR replication in the stack', () => {
  let repo: string;
  beforeAll(() => {
    repo = makeTree(appFiles());
  });
  afterAll(() => removeDir(repo));

  const templateOf = (isolation: Record<string, unknown>) =>
    Template.fromStack(buildApp(makeConfig(repo, { isolation }), { baseDir: repo, app: makeApp() }).stack);

  it('sets the replication up on deploy through the snapshot function, and grants it to the two roles', () => {
    const template = templateOf({ copyRegion: 'eu-central-1' });
    template.resourceCountIs('Custom::RecoveryDrillPitrReplication', 1);
    template.hasResourceProperties('Custom::RecoveryDrillPitrReplication', {
      source: 'bt-cts-prod',
      copyRegion: 'eu-central-1',
      copyKey: Match.anyValue(),
    });
    const replicate = statements(template, 'ReplicateSourceBackupsToIsolation');
    expect(replicate).toHaveLength(1);
    expect(replicate[0]?.Action).toBe('rds:StartDBInstanceAutomatedBackupsReplication');
    const resources = ((replicate[0]?.Resource ?? []) as unknown[]).map(flattenTokens).join(' ');
    expect(resources).toContain(':rds:eu-west-1:');
    expect(resources).toContain(':db:bt-cts-prod');
    expect(resources).toContain(':rds:eu-central-1:');
    expect(resources).toContain(':auto-backup:*');
    expect(statements(template, 'ReadReplicatedBackups')).toHaveLength(1);
    expect(statements(template, 'ReadReplicatedRestoreWindow')).toHaveLength(1);
    // The provider framework invokes the snapshot function only.
    const provider = Object.values(template.findResources('AWS::IAM::Role')).filter((r) =>
      JSON.stringify(r).includes('point-in-time replication setup'),
    );
    expect(provider).toHaveLength(1);
  });

  it('has none of it when replication is off or the copy region is the source’s', () => {
    for (const isolation of [
      { copyRegion: 'eu-central-1', pitrReplication: false },
      { copyRegion: 'eu-west-1', copyAccountId: '210987654321', sourceAccountId: '123456789012' },
    ]) {
      const template = templateOf(isolation);
      template.resourceCountIs('Custom::RecoveryDrillPitrReplication', 0);
      expect(statements(template, 'ReplicateSourceBackupsToIsolation')).toEqual([]);
      expect(statements(template, 'ReadReplicatedRestoreWindow')).toEqual([]);
    }
  });
});
