/**
 * A CloudFormation stack in moto that has only the outputs the CLI reads (the bucket, the state
 * machine): what `recovery-drill history` and `start` find after a real deploy.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { MOTO_CREDENTIALS, type Moto } from './moto.ts';

/** Creates stack `name` in moto, in `region`, with `outputs` (output name → value). */
export async function createStackWithOutputs(
  moto: Moto,
  region: string,
  name: string,
  outputs: Record<string, string>,
): Promise<void> {
  const cfn = new CloudFormationClient({ endpoint: moto.endpoint, region, credentials: MOTO_CREDENTIALS });
  try {
    await cfn.send(
      new CreateStackCommand({
        StackName: name,
        TemplateBody: JSON.stringify({
          // CloudFormation refuses a template without resources; a queue costs nothing in moto.
          Resources: { Queue: { Type: 'AWS::SQS::Queue' } },
          Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
        }),
      }),
    );
  } finally {
    cfn.destroy();
  }
}
