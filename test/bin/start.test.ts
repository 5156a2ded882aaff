import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { CommandIo } from '../../bin/commands/types.ts';
import { followExecution } from '../../functions/drill/adapters/aws/follow.ts';
import { createSource, motoClients, REGION } from '../functions/drill/aws/support.ts';
import { runCli, withoutAwsCredentials } from '../support/cli-process.ts';
import { MOTO_ACCOUNT_ID, MOTO_CREDENTIALS, type Moto, startMoto } from '../support/moto.ts';
import { createStackWithOutputs } from '../support/stack-outputs.ts';

const CONFIG = {
  source: { dbInstanceIdentifier: 'bt-cts-prod', region: REGION },
  isolation: { copyRegion: 'eu-central-1' },
};

function capturedIo(cwd: string, env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, cwd };
  return { io, out, err };
}

/** A TCP server that only counts who connects: proof that a refused command called no AWS API. */
async function countingEndpoint(): Promise<{
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('start command input checks', () => {
  let dir: string;
  let endpoint: Awaited<ReturnType<typeof countingEndpoint>>;
  const arn = `arn:aws:states:${REGION}:${MOTO_ACCOUNT_ID}:stateMachine:recovery-drill`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'start-cli-'));
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
    endpoint = await countingEndpoint();
  });
  afterAll(async () => {
    await endpoint?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const { io, out, err } = capturedIo(dir, {
      AWS_ENDPOINT_URL: endpoint.url,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    const code = await main(['start', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  const refused: [string, string[], RegExp][] = [
    ['a malformed target time', ['--target-time', 'yesterday'], /--target-time \(targetTime\).*"yesterday"/],
    [
      'a target time without a zone',
      ['--target-time', '2026-11-20T03:00:00'],
      /--target-time \(targetTime\).*with a zone/,
    ],
    [
      'a target time in the future',
      ['--target-time', '2099-01-01T00:00:00Z'],
      /--target-time \(targetTime\).*not in the future/,
    ],
    [
      "the local engine's data origin",
      ['--from', 'isolated'],
      /--from \(from\): one of "source", "isolated-region", "isolated-snapshot" .*; got "isolated"/,
    ],
    [
      'a reason over 200 characters',
      ['--reason', 'r'.repeat(201)],
      /--reason \(reason\): at most 200 characters/,
    ],
    [
      'a reason with a line break',
      ['--reason', 'two\nlines'],
      /--reason \(reason\): printable characters only/,
    ],
    ['an unknown flag', ['--target', 'latest'], /Unknown option '--target'/],
    [
      'a malformed state machine ARN',
      ['--state-machine-arn', 'recovery-drill'],
      /--state-machine-arn: expected a state machine ARN/,
    ],
    ['a malformed region', ['--region', 'Ireland'], /--region: expected an AWS region/],
  ];

  for (const [what, args, message] of refused) {
    it(`exits 2 naming the field for ${what}, without calling AWS`, async () => {
      const withArn = args.includes('--state-machine-arn') ? args : [...args, '--state-machine-arn', arn];
      const { code, err, out } = await run(withArn);
      expect(code).toBe(2);
      expect(err).toMatch(message);
      expect(out).toBe('');
      expect(endpoint.connections()).toBe(0);
    });
  }

  it('exits 2 on an invalid configuration, without calling AWS', async () => {
    writeFileSync(
      join(dir, 'broken.json'),
      JSON.stringify({ ...CONFIG, drill: { instancePrefix: 'Bad Prefix' } }),
    );
    const { code, err } = await run(['--config', 'broken.json', '--state-machine-arn', arn]);
    expect(code).toBe(2);
    expect(err).toContain('drill.instancePrefix');
    expect(endpoint.connections()).toBe(0);
  });
});

// Exit 2 is for what the user can fix in the command or the configuration; AWS out of reach (no
// credentials, no answer) is exit 1, whether the machine is named or looked up in the stack.
describe('start command when AWS cannot be used', () => {
  let dir: string;
  let endpoint: Awaited<ReturnType<typeof countingEndpoint>>;
  const arn = `arn:aws:states:${REGION}:${MOTO_ACCOUNT_ID}:stateMachine:recovery-drill`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'start-cli-no-aws-'));
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
    endpoint = await countingEndpoint();
  });
  afterAll(async () => {
    await endpoint?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [what, args] of [
    ['looking the machine up in the stack', []],
    ['with --state-machine-arn', ['--state-machine-arn', arn]],
  ] as const) {
    it(`exits 1 without credentials, ${what}, naming the credentials`, async () => {
      const { code, stdout, stderr } = await runCli(['start', ...args], {
        cwd: dir,
        env: withoutAwsCredentials(dir),
      });
      expect(stderr).toMatch(/^recovery-drill start: no drill started: .*CredentialsProviderError/m);
      expect(code).toBe(1);
      expect(stdout).toBe('');
    });
  }

  it('exits 1 when AWS does not answer, naming the stack it could not read', async () => {
    const { io, err } = capturedIo(dir, {
      AWS_ENDPOINT_URL: endpoint.url,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    const code = await main(['start'], io);
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(
      /no drill started: --state-machine-arn not given, and the stack RecoveryDrillStack could not be read/,
    );
    expect(endpoint.connections()).toBeGreaterThan(0);
  });
});

describe('start command against moto', () => {
  let moto: Moto;
  let sfn: SFNClient;
  let dir: string;
  let arn: string;

  beforeAll(async () => {
    moto = await startMoto();
    const clients = motoClients(moto.endpoint);
    sfn = clients.sfn;
    await createSource(clients.rds);
    clients.rds.destroy();
    dir = mkdtempSync(join(tmpdir(), 'start-cli-moto-'));
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
  });
  afterAll(async () => {
    sfn?.destroy();
    await moto?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A machine that stays RUNNING (moto runs no Lambdas; a Wait state stands in for the drill). */
  async function machine(name: string): Promise<string> {
    const out = await sfn.send(
      new CreateStateMachineCommand({
        name,
        roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/drill`,
        definition: JSON.stringify({
          StartAt: 'Drill',
          States: { Drill: { Type: 'Wait', Seconds: 3600, End: true } },
        }),
      }),
    );
    return out.stateMachineArn as string;
  }

  const run = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const { io, out, err } = capturedIo(dir, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      USER: 'alice',
      ...extraEnv,
    });
    const code = await main(['start', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('starts the machine given by ARN and prints the drill id, execution and console link', async () => {
    arn = await machine('by-arn');
    const { code, out, err } = await run([
      '--state-machine-arn',
      arn,
      '--reason',
      'quarterly drill, by hand',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const drillId = /drill id:\s+(\S+)/.exec(out)?.[1];
    const executionArn = /execution:\s+(\S+)/.exec(out)?.[1];
    expect(drillId).toMatch(/^\d{8}t\d{6}z-[0-9a-f]{4}$/);
    expect(out).toContain(
      `https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/`,
    );
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.name).toBe(drillId);
    expect(JSON.parse(described.input ?? '{}')).toEqual({
      targetTime: 'latest',
      reason: 'quarterly drill, by hand',
      requestedBy: 'alice',
      dryRun: false,
      from: 'source',
    });
  });

  it('refuses with exit 1 while a drill of the machine is running', async () => {
    const own = await machine('busy');
    expect((await run(['--state-machine-arn', own])).code).toBe(0);
    const { code, err } = await run(['--state-machine-arn', own]);
    expect(code).toBe(1);
    expect(err).toContain('another drill is running');
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: own }))).executions).toHaveLength(1);
  });

  it('exits 1 naming the AWS error when the source instance does not exist, starting nothing', async () => {
    const own = await machine('no-source');
    writeFileSync(
      join(dir, 'other-source.json'),
      JSON.stringify({ ...CONFIG, source: { ...CONFIG.source, dbInstanceIdentifier: 'not-there' } }),
    );
    const { code, err } = await run(['--state-machine-arn', own, '--config', 'other-source.json']);
    expect(code).toBe(1);
    expect(err).toMatch(/no drill started: NotFoundError: instance "not-there" does not exist/);
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: own }))).executions).toEqual([]);
  });

  it('exits 1 when no ARN is given and the stack is not deployed', async () => {
    const { code, err, out } = await run([]);
    expect(code).toBe(1);
    expect(err).toMatch(
      /no drill started: --state-machine-arn not given, and the stack RecoveryDrillStack could not be read \(ValidationError/,
    );
    expect(out).toBe('');
  });

  it("finds the machine from the stack's DrillStateMachineArn output when no ARN is given", async () => {
    const own = await machine('from-stack');
    await createStackWithOutputs(moto, REGION, 'RecoveryDrillStack', { DrillStateMachineArn: own });
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).toContain(`execution:     arn:aws:states:${REGION}:${MOTO_ACCOUNT_ID}:execution:from-stack:`);
  });

  it("starts a drill --from the isolated copy with the copy region stack's machine, in that region", async () => {
    const copySfn = motoClients(moto.endpoint, 'eu-central-1').sfn;
    try {
      const copyMachine = (
        await copySfn.send(
          new CreateStateMachineCommand({
            name: 'RecoveryDrillCopyRegionDrill',
            roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/drill`,
            definition: JSON.stringify({
              StartAt: 'Drill',
              States: { Drill: { Type: 'Wait', Seconds: 3600, End: true } },
            }),
          }),
        )
      ).stateMachineArn as string;
      await createStackWithOutputs(moto, 'eu-central-1', 'RecoveryDrillCopyRegionStack', {
        DrillStateMachineArn: copyMachine,
      });
      const { code, out } = await run(['--from', 'isolated-snapshot']);
      expect(code).toBe(0);
      expect(out).toContain('from:          isolated-snapshot (eu-central-1)');
      expect(out).toContain(
        `execution:     arn:aws:states:eu-central-1:${MOTO_ACCOUNT_ID}:execution:RecoveryDrillCopyRegionDrill:`,
      );
      const [execution] =
        (await copySfn.send(new ListExecutionsCommand({ stateMachineArn: copyMachine }))).executions ?? [];
      const described = await copySfn.send(
        new DescribeExecutionCommand({ executionArn: execution?.executionArn }),
      );
      expect(JSON.parse(described.input ?? '{}')).toMatchObject({ from: 'isolated-snapshot' });
    } finally {
      copySfn.destroy();
    }
  });

  it('with --wait, Ctrl-C stops the following only and says the drill goes on in AWS (exit 130)', async () => {
    const own = await machine('interrupted-follow');
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '..', '..', 'bin', 'recovery-drill.js'),
        'start',
        '--state-machine-arn',
        own,
        '--wait',
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
          USER: 'alice',
          RECOVERY_DRILL_WAIT_POLL_MS: '100',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!out.includes('execution:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    const executionArn = /execution:\s+(\S+)/.exec(out)?.[1] as string;
    expect(err).toContain(
      `recovery-drill start: SIGINT: stopped following; nothing here to clean up: the drill keeps running in AWS and removes its instance and secret in its Clean up state (${executionArn})`,
    );
    // The drill itself was not stopped.
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('RUNNING');
  });

  it('with --wait follows the execution until it ends and exits 1 when it did not succeed', async () => {
    const own = await machine('waited');
    // Ends the "drill" from outside once it is running: moto would keep it RUNNING for an hour.
    // One call at a time, each awaited before the test ends (moto stops after it).
    let inFlight: Promise<void> = Promise.resolve();
    let failure: unknown = null;
    const stopOnce = async () => {
      const running = (
        await sfn.send(new ListExecutionsCommand({ stateMachineArn: own, statusFilter: 'RUNNING' }))
      ).executions?.[0];
      if (running) await sfn.send(new StopExecutionCommand({ executionArn: running.executionArn }));
    };
    const stopper = setInterval(() => {
      inFlight = inFlight.then(stopOnce).catch((error: unknown) => {
        failure ??= error;
      });
    }, 200);
    try {
      const { code, out } = await run(['--state-machine-arn', own, '--wait'], {
        RECOVERY_DRILL_WAIT_POLL_MS: '100',
      });
      expect(code).toBe(1);
      expect(out).toMatch(/: ABORTED$/);
    } finally {
      clearInterval(stopper);
      await inFlight;
    }
    if (failure) throw failure;
  });
});

// moto's execution history is a fixed placeholder (it runs no state), so the step-by-step lines are
// checked against a mocked history shaped like a real drill's.
describe('following a drill execution', () => {
  it('prints one line per task state with its final outcome, and returns the output once the execution ends', async () => {
    const mock = mockClient(SFNClient);
    const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 6, 0, s));
    const entered = (id: number, s: number, name: string): HistoryEvent => ({
      id,
      type: 'TaskStateEntered',
      timestamp: at(s),
      stateEnteredEventDetails: { name },
    });
    const exited = (id: number, s: number, name: string): HistoryEvent => ({
      id,
      type: 'TaskStateExited',
      timestamp: at(s),
      stateExitedEventDetails: { name },
    });
    const failed = (id: number, s: number, error: string, message: string): HistoryEvent => ({
      id,
      type: 'TaskFailed',
      timestamp: at(s),
      taskFailedEventDetails: {
        resourceType: 'lambda',
        resource: 'invoke',
        error,
        cause: JSON.stringify({ errorMessage: message }),
      },
    });
    const events: HistoryEvent[] = [
      { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
      entered(2, 1, 'Validate input'),
      exited(3, 2, 'Validate input'),
      // A Retry overcame the first failure: its outcome is the success.
      entered(4, 3, 'Smoke: ready'),
      failed(5, 4, 'Lambda.ServiceException', 'throttled'),
      { id: 6, type: 'TaskSucceeded', timestamp: at(6) },
      exited(7, 6, 'Smoke: ready'),
      // Caught: the Catch moves on to the cleanup, the state exits. One ✗, no ✓.
      entered(8, 7, 'Check data integrity'),
      failed(9, 8, 'IntegrityError', 'orphans in "Account" (postgres://app:s3cret@db:5432/x)'),
      exited(10, 8, 'Check data integrity'),
      { id: 11, type: 'WaitStateEntered', timestamp: at(9), stateEnteredEventDetails: { name: 'Pause' } },
      entered(12, 10, 'Clean up'),
    ];
    const last: HistoryEvent[] = [
      exited(13, 12, 'Clean up'),
      // Uncaught: the state never exits; its ✗ comes before the execution's end.
      entered(14, 13, 'Notify'),
      failed(15, 14, 'SnsError', 'topic gone'),
      {
        id: 16,
        type: 'ExecutionFailed',
        timestamp: at(15),
        executionFailedEventDetails: { error: 'DrillFailed' },
      },
    ];
    mock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'FAILED', output: JSON.stringify({ report: { passed: false } }) });
    mock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events })
      .resolves({ events: [...events, ...last] });
    const lines: string[] = [];
    const result = await followExecution(new SFNClient({ region: REGION }), 'arn:exec', {
      print: (l) => lines.push(l),
      sleep: async () => {},
    });
    expect(lines).toEqual([
      '06:00:02  ✓ Validate input (1.0 s)',
      '06:00:06  ✓ Smoke: ready (3.0 s)',
      '06:00:08  ✗ Check data integrity (1.0 s): IntegrityError: orphans in "Account" (postgres://app:***@db:5432/x)',
      '06:00:12  ✓ Clean up (2.0 s)',
      '06:00:15  ✗ Notify (2.0 s): SnsError: topic gone',
      '06:00:15  execution failed: DrillFailed',
    ]);
    expect(result).toEqual({ status: 'FAILED', output: { report: { passed: false } } });
    mock.restore();
  });
});
