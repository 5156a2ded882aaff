import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DrillInputError, validateDrillInput } from '../../functions/core/drill-input.ts';
import { showValue } from '../../functions/core/errors.ts';
import { redactCredentials } from '../../functions/core/redact.ts';
import { followExecution } from '../../functions/drill/adapters/aws/follow.ts';
import {
  type AwsDrillFrom,
  regionOfData,
  restorableWindowFrom,
} from '../../functions/drill/adapters/aws/rds-origins.ts';
import { parseS3Url } from '../../functions/drill/adapters/aws/s3-stores.ts';
import { DrillAlreadyRunningError, startDrill } from '../../functions/drill/adapters/aws/start.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { copyRegionDrillStackName, DRILL_STATE_MACHINE_OUTPUT, drillStackName } from './stack.ts';
import {
  CommandFailure,
  type CommandIo,
  type CommandRunner,
  EXIT,
  stringOption,
  UsageError,
} from './types.ts';

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

/** The CLI's flag for each input field, so a refusal names what the engineer typed. */
const FLAG: Readonly<Record<string, string>> = {
  targetTime: '--target-time',
  reason: '--reason',
  requestedBy: '--requested-by',
  from: '--from',
};

function refusal(error: DrillInputError): UsageError {
  const lines = error.problems.map(
    (p) => `${FLAG[p.field] ?? p.field} (${p.field}): ${p.expected}; got ${showValue(p.value)}`,
  );
  return new UsageError(
    lines.length === 1 ? `${lines[0]}` : `${lines.length} problems:\n  - ${lines.join('\n  - ')}`,
    { cause: error },
  );
}

/**
 * SDK client settings from the command's environment: `AWS_ENDPOINT_URL` (an emulator, path-style
 * S3) and static keys when given there; otherwise the SDK's own credential chain.
 */
export function clientConfig(env: NodeJS.ProcessEnv, region: string) {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  return { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
}

async function stackOutput(cfn: CloudFormationClient, stack: string, output: string): Promise<string> {
  const described = await cfn.send(new DescribeStacksCommand({ StackName: stack })).catch((error: Error) => {
    throw new CommandFailure(
      `no drill started: --state-machine-arn not given, and the stack ${stack} could not be read (${error.name}: ${redactCredentials(error.message)}); pass the ARN or the stack's --region`,
      { cause: error },
    );
  });
  const value = described.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === output)?.OutputValue;
  if (!value || !STATE_MACHINE_ARN.test(value)) {
    throw new CommandFailure(
      `no drill started: --state-machine-arn not given, and the stack ${stack} has no output ${output} (deploy the drill, or pass the ARN)`,
    );
  }
  return value;
}

function consoleLink(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

async function printReport(s3: S3Client, output: unknown, io: CommandIo): Promise<boolean | null> {
  const report = (
    output as { report?: { passed?: unknown; location?: { markdown?: unknown } | null } } | null
  )?.report;
  const location =
    typeof report?.location?.markdown === 'string' ? parseS3Url(report.location.markdown) : null;
  if (!location) {
    io.out('(the execution produced no report: see its history above)');
    return typeof report?.passed === 'boolean' ? report.passed : null;
  }
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    io.out(`\n${await object.Body?.transformToString('utf8')}`);
  } catch (error) {
    io.err(
      `could not read the report s3://${location.bucket}/${location.key}: ${(error as Error).name}: ${(error as Error).message}`,
    );
  }
  return typeof report?.passed === 'boolean' ? report.passed : null;
}

/**
 * `start`: starts the deployed drill by hand. Every check that needs no AWS call runs first, so a
 * typo at 3 a.m. costs nothing; `--wait` follows the drill and prints its report.
 */
export const startCommand: CommandRunner = {
  async run({ values, io }) {
    const input: Record<string, string> = {};
    const target = stringOption(values, 'target-time');
    if (target !== undefined) input.targetTime = target;
    const from = stringOption(values, 'from');
    if (from !== undefined) input.from = from;
    const reason = stringOption(values, 'reason');
    if (reason !== undefined) input.reason = reason;
    const requestedBy = stringOption(values, 'requested-by') ?? io.env.USER;
    if (requestedBy !== undefined && requestedBy !== '') input.requestedBy = requestedBy;
    try {
      validateDrillInput(input, { now: new Date(), engine: 'aws' });
    } catch (error) {
      if (error instanceof DrillInputError) throw refusal(error);
      throw error;
    }
    const arnGiven = stringOption(values, 'state-machine-arn');
    const arnMatch = arnGiven === undefined ? null : STATE_MACHINE_ARN.exec(arnGiven);
    if (arnGiven !== undefined && !arnMatch) {
      throw new UsageError(
        `--state-machine-arn: expected a state machine ARN "arn:aws:states:REGION:ACCOUNT:stateMachine:NAME"; got ${showValue(arnGiven)}`,
      );
    }
    const regionGiven = stringOption(values, 'region');
    if (regionGiven !== undefined && !REGION.test(regionGiven)) {
      throw new UsageError(
        `--region: expected an AWS region such as "eu-west-1"; got ${showValue(regionGiven)}`,
      );
    }
    const { config } = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    // Without --from, config drill.from; the drill runs in the region of its data.
    if (input.from === undefined) input.from = config.drill.from;
    const dataRegion = regionOfData(input.from as AwsDrillFrom, config);
    const inCopyRegion = dataRegion !== config.source.region;
    // Offline checks are done: from here on AWS is called.
    const region = regionGiven ?? arnMatch?.[1] ?? dataRegion;
    const sfn = new SFNClient(clientConfig(io.env, region));
    const rds = new RDSClient(clientConfig(io.env, dataRegion));
    const sourceRds = inCopyRegion ? new RDSClient(clientConfig(io.env, config.source.region)) : rds;
    const stateMachineArn =
      arnGiven ??
      (await stackOutput(
        new CloudFormationClient(clientConfig(io.env, region)),
        inCopyRegion ? copyRegionDrillStackName(config.environment) : drillStackName(config.environment),
        DRILL_STATE_MACHINE_OUTPUT,
      ));
    let started: Awaited<ReturnType<typeof startDrill>>;
    try {
      started = await startDrill(sfn, {
        stateMachineArn,
        input,
        window: (f) =>
          restorableWindowFrom(f as AwsDrillFrom, {
            rds,
            region: dataRegion,
            sourceRds,
            sourceDbInstanceId: config.source.dbInstanceIdentifier,
          }),
      });
    } catch (error) {
      if (error instanceof DrillInputError) throw refusal(error);
      if (error instanceof DrillAlreadyRunningError) {
        io.err(`recovery-drill start: ${error.message}`);
        return EXIT.failed;
      }
      // AWS said no (credentials, permissions, the source instance missing): nothing was started.
      const e = error as Error;
      io.err(`recovery-drill start: no drill started: ${e.name}: ${redactCredentials(e.message)}`);
      return EXIT.failed;
    }
    io.out(
      [
        `drill id:      ${started.drillId}`,
        `target time:   ${started.input.targetTime}`,
        `from:          ${started.input.from} (${region})`,
        `execution:     ${started.executionArn}`,
        `console:       ${consoleLink(region, started.executionArn)}`,
      ].join('\n'),
    );
    if (!values.wait) return EXIT.ok;
    io.out('');
    // Ctrl-C stops only the following: say so, and that the drill in AWS goes on (it cleans up
    // after itself in its Clean up state), rather than exiting without a word.
    const onSignal = (signal: NodeJS.Signals) => {
      io.err(
        `recovery-drill start: ${signal}: stopped following; nothing here to clean up: the drill keeps running in AWS and removes its instance and secret in its Clean up state (${started.executionArn}); to stop it: aws stepfunctions stop-execution --execution-arn ${started.executionArn}`,
      );
      process.exit(signal === 'SIGINT' ? EXIT.interruptedByInt : EXIT.interruptedByTerm);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let result: Awaited<ReturnType<typeof followExecution>>;
    try {
      result = await followExecution(sfn, started.executionArn, {
        print: io.out,
        pollMs: Number(io.env.RECOVERY_DRILL_WAIT_POLL_MS) || 5_000,
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const s3 = new S3Client({
      ...clientConfig(io.env, config.source.region),
      forcePathStyle: Boolean(io.env.AWS_ENDPOINT_URL),
    });
    const passed = await printReport(s3, result.output, io);
    io.out(
      `\ndrill ${started.drillId}: ${result.status}${passed === null ? '' : passed ? ', passed' : ', FAILED'}`,
    );
    return result.status === 'SUCCEEDED' && passed !== false ? EXIT.ok : EXIT.failed;
  },
};
