import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOTO_CREDENTIALS, type Moto, startMoto } from '../support/moto.ts';
import {
  createBackupBucket,
  createTopicWithInbox,
  type MotoClients,
  motoClients,
  SOURCE_REGION,
  settingsVariable,
} from './fixtures.ts';

let moto: Moto;
let clients: MotoClients;
let codeDir: string;

beforeAll(async () => {
  moto = await startMoto();
  clients = motoClients(moto.endpoint);
  // Outside the project: the bundle must carry everything it needs.
  codeDir = mkdtempSync(join(tmpdir(), 'bundled-artifacts-'));
});
afterAll(async () => {
  await moto?.stop();
  if (codeDir) rmSync(codeDir, { recursive: true, force: true });
});

describe('bundled artifacts function', () => {
  it('runs from an esbuild bundle built like the stack builds it, artifacts beside it', async () => {
    // The stack's NodejsFunction options (lib/function.ts).
    await build({
      entryPoints: [resolve('functions/artifacts.ts')],
      outfile: join(codeDir, 'index.mjs'),
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      minify: true,
      mainFields: ['module', 'main'],
      banner: {
        js: "import { createRequire as __rdCreateRequire } from 'node:module';const require = __rdCreateRequire(import.meta.url);",
      },
      logLevel: 'error',
    });
    mkdirSync(join(codeDir, 'artifacts/apps/api/prisma'), { recursive: true });
    writeFileSync(join(codeDir, 'artifacts/apps/api/prisma/schema.prisma'), 'model User { id Int @id }\n');
    const { bucket } = await createBackupBucket(clients);
    const inbox = await createTopicWithInbox(clients);

    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(join(codeDir, 'index.mjs')).href)});
      const context = { awsRequestId: 'req-1', functionName: 'artifacts', getRemainingTimeInMillis: () => 60000 };
      const result = await handler({ RequestType: 'Create', ResourceProperties: {} }, context);
      process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n');`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      // Only what Lambda and the stack would set: no tsx, no project code outside the bundle.
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_REGION: SOURCE_REGION,
        LAMBDA_TASK_ROOT: codeDir,
        ...settingsVariable(
          'artifacts',
          { source: { dbInstanceIdentifier: 'btcts' } },
          { topicArn: inbox.topicArn, stateTable: 'state', bucket, artifactsVersion: 'v1' },
        ),
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = output.split('\n').find((line) => line.startsWith('RESULT '));
    expect(JSON.parse(result?.slice('RESULT '.length) ?? 'null')).toEqual({
      PhysicalResourceId: 'recovery-drill-artifacts-v1',
      Data: { Version: 'v1', ManifestKey: 'artifacts/v1/manifest.json', Files: 1 },
    });
    const stored = await clients.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'artifacts/v1/apps/api/prisma/schema.prisma' }),
    );
    expect(await stored.Body?.transformToString()).toBe('model User { id Int @id }\n');
    expect(await inbox.drain()).toEqual([]);
  });
});
