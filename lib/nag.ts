/**
 * cdk-nag acknowledgements that name the exact finding. A wildcard resource is acknowledged one
 * ARN at a time (never the whole rule), so a new wildcard added later still fails synth.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/** The finding id cdk-nag reports for a wildcard resource (tokens rendered as `<LogicalId.Attr>`). */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}

/**
 * Acknowledges one wildcard resource on one role or policy, with the reason it cannot be narrower.
 * A cross-region reference (the copy region's drill naming the source region's bucket) is
 * rewritten only when the app is prepared: the finding is named again then, as it will render.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const id = wildcardResourceFinding(scope, resource);
  Validations.of(scope).acknowledge({ id, reason });
  scope.node.addValidation({
    validate: () => {
      const prepared = wildcardResourceFinding(scope, resource);
      if (prepared !== id) Validations.of(scope).acknowledge({ id: prepared, reason });
      return [];
    },
  });
}
