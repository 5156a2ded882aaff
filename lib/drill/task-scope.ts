/**
 * Keeps the state machine's ECS rights on the drill's own cluster. aws-cdk-lib's `EcsRunTask`
 * with the `.sync` integration grants `ecs:StopTask` and `ecs:DescribeTasks` on every resource (it
 * cannot know the task ids); an explicit deny for any task outside the drill cluster (condition
 * `ecs:cluster`) makes them reach the drill's migrate tasks only, whatever the grant says.
 */

import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';

/** The statement sid, so tests and the cdk-nag reason can name it. */
export const TASKS_OF_OTHER_CLUSTERS_SID = 'DenyTasksOfOtherClusters';

/** Denies `role` stopping or describing any ECS task outside `cluster`. */
export function confineTasksToCluster(role: iam.IRole, cluster: ecs.ICluster): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: TASKS_OF_OTHER_CLUSTERS_SID,
      effect: iam.Effect.DENY,
      actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'ecs:cluster': cluster.clusterArn } },
    }),
  );
}
