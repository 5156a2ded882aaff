import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { showValue } from '../../functions/core/errors.ts';
import {
  type HistoryIndex,
  parseHistoryIndex,
  renderHistoryTable,
  TREND_WINDOW,
  trendOf,
} from '../../functions/core/history.ts';
import { redactCredentials } from '../../functions/core/redact.ts';
import { REPORT_INDEX_KEY } from '../../functions/drill/adapters/aws/s3-stores.ts';
import { FolderReportStore } from '../../functions/drill/adapters/local/reports.ts';
import { statePaths } from '../../functions/local/state.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { BACKUP_BUCKET_OUTPUT, drillStackName } from './stack.ts';
import { clientConfig } from './start.ts';
import { CommandFailure, type CommandRunner, EXIT, stringOption, UsageError } from './types.ts';

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

async function bucketFromStack(env: NodeJS.ProcessEnv, region: string, stackName: string): Promise<string> {
  const cfn = new CloudFormationClient(clientConfig(env, region));
  try {
    const described = await cfn
      .send(new DescribeStacksCommand({ StackName: stackName }))
      .catch((error: Error) => {
        throw new CommandFailure(
          `--bucket not given, and the stack ${stackName} could not be read in ${region} (${error.name}: ${redactCredentials(error.message)}); pass --bucket or --local`,
          { cause: error },
        );
      });
    const value = described.Stacks?.[0]?.Outputs?.find(
      (o) => o.OutputKey === BACKUP_BUCKET_OUTPUT,
    )?.OutputValue;
    if (!value || !BUCKET_NAME.test(value))
      throw new CommandFailure(
        `--bucket not given, and the stack ${stackName} has no output ${BACKUP_BUCKET_OUTPUT} (deploy the stack, or pass --bucket)`,
      );
    return value;
  } finally {
    cfn.destroy();
  }
}

/**
 * The bucket's index. Only a missing index (no drill has written one yet) is an empty history: a
 * missing bucket or a denied read is an error, never "no drills".
 */
async function bucketIndex(s3: S3Client, bucket: string): Promise<HistoryIndex> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: REPORT_INDEX_KEY }));
    return parseHistoryIndex(JSON.parse((await object.Body?.transformToString('utf8')) ?? ''));
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return parseHistoryIndex(null);
    throw error;
  }
}

/**
 * `history`: every recorded drill with its measured RPO and RTO and the trend, so a slowly
 * growing restore is seen before it misses a target, and an auditor gets the list in one command.
 */
export const historyCommand: CommandRunner = {
  async run({ values, io }) {
    const lastText = stringOption(values, 'last');
    const last = lastText === undefined ? TREND_WINDOW : Number(lastText);
    if (!Number.isInteger(last) || last < 2 || last > 1000)
      throw new UsageError(
        `--last: expected a whole number of drills from 2 to 1000; got ${showValue(lastText)}`,
      );
    const bucketGiven = stringOption(values, 'bucket');
    if (bucketGiven !== undefined && values.local)
      throw new UsageError('--bucket: not with --local (the local history is read from local.stateDir)');
    if (bucketGiven !== undefined && !BUCKET_NAME.test(bucketGiven))
      throw new UsageError(`--bucket: expected an S3 bucket name; got ${showValue(bucketGiven)}`);
    const loaded = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    let index: HistoryIndex;
    let source: string;
    if (values.local) {
      const dir = `${statePaths(loaded.config, loaded.baseDir).root}/reports`;
      index = await new FolderReportStore(dir).readIndex();
      source = `${dir}/index.json`;
    } else {
      const region = loaded.config.source.region;
      const bucket =
        bucketGiven ?? (await bucketFromStack(io.env, region, drillStackName(loaded.config.environment)));
      const s3 = new S3Client({
        ...clientConfig(io.env, region),
        forcePathStyle: Boolean(io.env.AWS_ENDPOINT_URL),
      });
      try {
        index = await bucketIndex(s3, bucket);
      } catch (error) {
        const e = error as Error;
        io.err(
          `recovery-drill history: could not read s3://${bucket}/${REPORT_INDEX_KEY}: ${e.name}: ${redactCredentials(e.message)}`,
        );
        return EXIT.failed;
      } finally {
        s3.destroy();
      }
      source = `s3://${bucket}/${REPORT_INDEX_KEY}`;
    }
    if (values.json) {
      io.out(JSON.stringify({ source, drills: index.drills, trend: trendOf(index.drills, last) }, null, 2));
    } else {
      io.out(`${source}\n`);
      io.out(renderHistoryTable(index.drills, last));
    }
    return EXIT.ok;
  },
};
