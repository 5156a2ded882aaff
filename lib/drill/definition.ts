/**
 * The drill's state machine definition as plain ASL, taken from `RecoveryDrillStack` itself: the
 * local engine and the tests run exactly what `cdk deploy` would deploy.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Config } from '../../functions/core/config.ts';
import { extractDefinition } from '../../functions/drill/asl.ts';
import { buildApp, cdkJsonContext } from '../app.ts';

/** A stand-in image when none is configured: only the definition is read, no task ever runs it. */
const LOCAL_IMAGE = 'recovery-drill/local-app:latest';

/**
 * Synthesizes the stack (without bundling the functions or validating the template: only the
 * definition is read) and returns the drill state machine's ASL.
 * @param baseDir folder the configuration's relative paths are resolved against.
 */
export function drillDefinition(config: Config, baseDir: string): Record<string, unknown> {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const runnable: Config = { ...config, app: { ...config.app, image: config.app.image ?? LOCAL_IMAGE } };
  const { stack } = buildApp(runnable, { baseDir, app });
  return extractDefinition(Template.fromStack(stack).toJSON() as never, {
    match: 'Drill',
    region: config.source.region,
  });
}
