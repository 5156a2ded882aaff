/**
 * The rules between fields, which a field-by-field schema cannot express (a copy region beside the
 * source, a key in the wrong region, a restore limit beyond the drill's).
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { type ConfigProblem, show } from './problems.ts';

/**
 * Whether one folder lies in the other (or is it), when that is known without the configuration
 * file's folder: both relative (to the same folder) or both absolute. The local engine checks the
 * mixed case once the paths are resolved (functions/local/state.ts).
 */
function overlaps(a: string, b: string): boolean {
  if (isAbsolute(a) !== isAbsolute(b)) return false;
  const base = '/config-folder';
  const [x, y] = [resolve(base, a), resolve(base, b)];
  const within = (inner: string, outer: string) => {
    const rel = relative(outer, inner);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  return within(x, y) || within(y, x);
}

/**
 * Cross-field rules that a field-by-field schema cannot express. Each rule runs when the sections
 * it reads are present, so a construct's slice of the configuration is held to the same rules.
 */
export function crossFieldProblems(config: Partial<Config>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { isolation, source, drill, heartbeat } = config;
  if (isolation && source && isolation.copyRegion === source.region && isolation.copyAccountId === null) {
    problems.push({
      path: 'isolation.copyRegion',
      value: show(isolation.copyRegion),
      expected:
        'a region other than source.region (or a copyAccountId): a copy beside the original is not isolated',
    });
  }
  if (isolation && isolation.copyAccountId !== null && isolation.sourceAccountId === null) {
    problems.push({
      path: 'isolation.sourceAccountId',
      value: show(null),
      expected:
        'the 12-digit account of the source (where the main stack is deployed): with isolation.copyAccountId the copy account copies only what that account shares',
    });
  }
  if (
    isolation &&
    isolation.copyAccountId !== null &&
    isolation.copyAccountId === isolation.sourceAccountId
  ) {
    problems.push({
      path: 'isolation.copyAccountId',
      value: show(isolation.copyAccountId),
      expected:
        'an account other than isolation.sourceAccountId: a copy in the same account is not isolated from it',
    });
  }
  const keyRegion = isolation?.copyKmsKeyArn
    ? /^arn:[^:]+:kms:([a-z0-9-]+):/.exec(isolation.copyKmsKeyArn)?.[1]
    : undefined;
  if (isolation && keyRegion !== undefined && keyRegion !== isolation.copyRegion) {
    problems.push({
      path: 'isolation.copyKmsKeyArn',
      value: show(isolation.copyKmsKeyArn),
      expected: `a key in isolation.copyRegion ${isolation.copyRegion} (RDS encrypts a copy with a key of the copy's region)`,
    });
  }
  const sourceKeyRegion = source?.kmsKeyArn
    ? /^arn:[^:]+:kms:([a-z0-9-]+):/.exec(source.kmsKeyArn)?.[1]
    : undefined;
  if (source && sourceKeyRegion !== undefined && sourceKeyRegion !== source.region) {
    problems.push({
      path: 'source.kmsKeyArn',
      value: show(source.kmsKeyArn),
      expected: `a key in source.region ${source.region} (an RDS instance is encrypted with a key of its own region)`,
    });
  }
  if (drill && drill.restoreTimeoutMinutes >= drill.timeoutMinutes) {
    problems.push({
      path: 'drill.restoreTimeoutMinutes',
      value: show(drill.restoreTimeoutMinutes),
      expected: `less than drill.timeoutMinutes (${drill.timeoutMinutes}), so a slow restore is reported and cleaned up`,
    });
  }
  if (heartbeat?.mode === 'function') {
    if (heartbeat.secretName === null) {
      problems.push({
        path: 'heartbeat.secretName',
        value: show(null),
        expected:
          'the Secrets Manager secret of the heartbeat role (heartbeat.mode "function" connects with it)',
      });
    }
    if (source && source.network === null) {
      problems.push({
        path: 'source.network',
        value: show(null),
        expected:
          '{ subnetIds, securityGroupIds } of the source database\'s network (heartbeat.mode "function" runs there to reach it)',
      });
    }
  }
  const isolatedDir = config.local?.isolatedDir;
  if (config.local && isolatedDir && overlaps(config.local.stateDir, isolatedDir)) {
    problems.push({
      path: 'local.isolatedDir',
      value: show(isolatedDir),
      expected: `a folder neither inside local.stateDir (${config.local.stateDir}) nor holding it: the isolated copy must survive the loss of the state folder`,
    });
  }
  const network = drill?.network;
  if (network && network.subnetIds.length % network.availabilityZones.length !== 0) {
    problems.push({
      path: 'drill.network.subnetIds',
      value: show(network.subnetIds),
      expected: `one subnet per availability zone (${network.availabilityZones.length} zones listed), in the same order`,
    });
  }
  return problems;
}
