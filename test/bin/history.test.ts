import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { CommandIo } from '../../bin/commands/types.ts';
import type { StepOutcome } from '../../functions/core/escalations.ts';
import { evaluateRecovery } from '../../functions/core/evaluate.ts';
import { buildReport, type DrillReport } from '../../functions/core/report.ts';
import { renderReportMarkdown } from '../../functions/core/report-markdown.ts';
import { S3ReportStore } from '../../functions/drill/adapters/aws/s3-stores.ts';
import { FolderReportStore } from '../../functions/drill/adapters/local/reports.ts';
import { createBucket, motoClients, REGION } from '../functions/drill/aws/support.ts';
import { runCli, withoutAwsCredentials } from '../support/cli-process.ts';
import { MOTO_CREDENTIALS, type Moto, startMoto } from '../support/moto.ts';
import { createStackWithOutputs } from '../support/stack-outputs.ts';

const CONFIG = {
  source: { dbInstanceIdentifier: 'bt-cts-prod', region: REGION },
  isolation: { copyRegion: 'eu-central-1' },
  local: { stateDir: 'state' },
};

/** A recorded drill that started on `day` and was ready after `rtoMinutes` (a failed restore when null). */
function drill(drillId: string, day: string, rtoMinutes: number | null): DrillReport {
  const start = Date.parse(`${day}T06:00:00Z`);
  const at = (min: number) => new Date(start + min * 60_000).toISOString();
  const end = rtoMinutes ?? 3;
  const steps: StepOutcome[] = [
    { name: 'validate', startedAt: at(0), endedAt: at(0.1), outcome: 'passed', detail: 'ok' },
    {
      name: 'restore',
      startedAt: at(0.1),
      endedAt: at(end),
      outcome: rtoMinutes === null ? 'failed' : 'passed',
      detail: rtoMinutes === null ? 'RestoreFailedError: no backup covers T' : 'restored',
    },
  ];
  const targets = { rpoMinutes: 60, rtoMinutes: 30 };
  return buildReport({
    drillId,
    targetTime: at(0),
    restorePointAt: rtoMinutes === null ? null : at(-2),
    startedAt: at(0),
    readyAt: rtoMinutes === null ? null : at(rtoMinutes),
    endedAt: at(end + 1),
    targets,
    steps,
    evaluation:
      rtoMinutes === null
        ? null
        : evaluateRecovery({
            targetTime: at(0),
            restorePointAt: at(-2),
            startedAt: at(0),
            readyAt: at(rtoMinutes),
            targets,
          }),
    environment: 'test',
    mode: 'local',
  });
}

/** Four quarters: RTO creeping up, then a restore that failed. */
const QUARTERS: [string, string, number | null][] = [
  ['20260105t060000z-aaaa', '2026-01-05', 10],
  ['20260406t060000z-bbbb', '2026-04-06', 11],
  ['20260706t060000z-cccc', '2026-07-06', 16],
  ['20261005t060000z-dddd', '2026-10-05', null],
];

function capturedIo(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, cwd };
  return { io, out, err };
}

describe('history command over local drills', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'history-local-'));
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
    const store = new FolderReportStore(join(dir, 'state', 'reports'));
    for (const [id, day, rto] of QUARTERS) {
      const report = drill(id, day, rto);
      await store.write(report, renderReportMarkdown(report));
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const { io, out, err } = capturedIo(dir);
    const code = await main(['history', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('lists every recorded drill newest first with measured RPO and RTO and the RTO trend', async () => {
    const { code, out } = await run(['--local']);
    expect(code).toBe(0);
    const rows = out.split('\n').filter((l) => /^2026\d{4}t/.test(l));
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(QUARTERS.map((q) => q[0]).reverse());
    expect(rows[0]).toMatch(/FAILED\s+source\s+–\s+–\s+60\/30\s+RESTORE_FAILED$/);
    expect(rows[1]).toMatch(/passed\s+source\s+2\s+16\s+60\/30\s+–$/);
    expect(out).toContain('RTO rising (10 → 16 min)');
    expect(out).toContain(join(dir, 'state', 'reports', 'index.json'));
  });

  it('prints the index and the trend as JSON with --json', async () => {
    const { code, out } = await run(['--local', '--json', '--last', '2']);
    expect(code).toBe(0);
    const parsed = JSON.parse(out);
    expect(parsed.drills.map((d: { drillId: string }) => d.drillId)).toEqual(QUARTERS.map((q) => q[0]));
    expect(parsed.trend).toMatchObject({ drills: 2, rto: 'rising' });
  });

  it('kept each report as JSON, Markdown and an HTML page, with the slowdown against the previous drill', () => {
    const reports = join(dir, 'state', 'reports');
    const third = JSON.parse(
      readFileSync(join(reports, '20260706t060000z-cccc.json'), 'utf8'),
    ) as DrillReport;
    expect(third.deviations.map((d) => d.kind)).toEqual(['RTO_SLOWER_THAN_PREVIOUS']);
    expect(third.deviations[0]?.observed).toContain(
      '45% more than the previous drill 20260406t060000z-bbbb (11 min)',
    );
    expect(readFileSync(join(reports, '20260706t060000z-cccc.md'), 'utf8')).toContain(
      'RTO_SLOWER_THAN_PREVIOUS',
    );
    expect(readFileSync(join(reports, '20260706t060000z-cccc.html'), 'utf8')).toContain('<svg');
  });

  it('lists reports written before the index existed, from their JSON files', async () => {
    const old = mkdtempSync(join(tmpdir(), 'history-old-'));
    try {
      writeFileSync(join(old, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
      mkdirSync(join(old, 'state', 'reports'), { recursive: true });
      for (const [id, day, rto] of QUARTERS.slice(0, 2))
        writeFileSync(join(old, 'state', 'reports', `${id}.json`), JSON.stringify(drill(id, day, rto)));
      writeFileSync(join(old, 'state', 'reports', 'notes.json'), '{"not":"a report"}');
      const { io, out } = capturedIo(old);
      expect(await main(['history', '--local', '--json'], io)).toBe(0);
      const parsed = JSON.parse(out.join('\n'));
      expect(parsed.drills.map((d: { drillId: string }) => d.drillId)).toEqual([
        QUARTERS[0]?.[0],
        QUARTERS[1]?.[0],
      ]);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('says so when no drill was recorded yet', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'history-empty-'));
    try {
      writeFileSync(join(empty, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
      const { io, out } = capturedIo(empty);
      expect(await main(['history', '--local'], io)).toBe(0);
      expect(out.join('\n')).toContain('no drills recorded yet');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses a bad --last with exit 2 naming the flag and the value', async () => {
    const { code, err } = await run(['--local', '--last', 'many']);
    expect(code).toBe(2);
    expect(err).toContain('--last: expected a whole number of drills from 2 to 1000; got "many"');
  });
});

describe('history command when AWS cannot be used', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'history-no-aws-'));
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Nothing the user typed or configured is wrong: exit 1 (not 2), with --bucket or without.
  for (const [what, args, message] of [
    [
      'looking the bucket up in the stack',
      [],
      /--bucket not given, and the stack RecoveryDrillStack could not be read in .*CredentialsProviderError/,
    ],
    [
      'with --bucket',
      ['--bucket', 'backups-bucket'],
      /could not read s3:\/\/backups-bucket\/reports\/index.json: CredentialsProviderError/,
    ],
  ] as const) {
    it(`exits 1 without credentials, ${what}`, async () => {
      const { code, stdout, stderr } = await runCli(['history', ...args], {
        cwd: dir,
        env: withoutAwsCredentials(dir),
      });
      expect(stderr).toMatch(message);
      expect(code).toBe(1);
      expect(stdout).toBe('');
    });
  }
});

describe('history command over the bucket against moto', () => {
  let moto: Moto;
  let s3: S3Client;
  let dir: string;

  beforeAll(async () => {
    moto = await startMoto();
    s3 = motoClients(moto.endpoint).s3;
    dir = mkdtempSync(join(tmpdir(), 'history-s3-'));
    writeFileSync(join(dir, 'recovery-drill.config.json'), JSON.stringify(CONFIG));
    await createBucket(s3, 'backups-bucket');
    const store = new S3ReportStore(s3, 'backups-bucket');
    for (const [id, day, rto] of QUARTERS.slice(0, 3)) {
      const report = drill(id, day, rto);
      await store.write(report, renderReportMarkdown(report));
    }
    await createStackWithOutputs(moto, REGION, 'RecoveryDrillStack', { BackupBucketName: 'backups-bucket' });
  });
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[]) => {
    const { io, out, err } = capturedIo(dir, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    });
    const code = await main(['history', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it("reads reports/index.json from the bucket named by the stack's BackupBucketName output", async () => {
    const { code, out, err } = await run(['--json']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const parsed = JSON.parse(out);
    expect(parsed.source).toBe('s3://backups-bucket/reports/index.json');
    expect(parsed.drills.map((d: { rtoMinutes: number }) => d.rtoMinutes)).toEqual([10, 11, 16]);
    expect(parsed.trend.rto).toBe('rising');
  });

  it("reads the stack of the configured environment: staging's is RecoveryDrillStack-staging, not production's", async () => {
    const staging = mkdtempSync(join(tmpdir(), 'history-staging-'));
    try {
      writeFileSync(
        join(staging, 'recovery-drill.config.json'),
        JSON.stringify({ ...CONFIG, environment: 'staging' }),
      );
      await createBucket(s3, 'staging-backups');
      const report = drill('20260105t060000z-eeee', '2026-01-05', 12);
      await new S3ReportStore(s3, 'staging-backups').write(report, renderReportMarkdown(report));
      await createStackWithOutputs(moto, REGION, 'RecoveryDrillStack-staging', {
        BackupBucketName: 'staging-backups',
      });
      const { io, out, err } = capturedIo(staging, {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      });
      const code = await main(['history', '--json'], io);
      expect(err.join('\n')).toBe('');
      expect(code).toBe(0);
      const parsed = JSON.parse(out.join('\n'));
      expect(parsed.source).toBe('s3://staging-backups/reports/index.json');
      expect(parsed.drills.map((d: { rtoMinutes: number }) => d.rtoMinutes)).toEqual([12]);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });

  it('stored the HTML page beside each JSON and Markdown report', async () => {
    const page = await s3.send(
      new GetObjectCommand({ Bucket: 'backups-bucket', Key: 'reports/20260406t060000z-bbbb/report.html' }),
    );
    expect(page.ContentType).toMatch(/^text\/html/);
    expect(await page.Body?.transformToString()).toContain('class="step-bar');
  });

  it('exits 1 naming the object when the given bucket does not exist', async () => {
    const { code, err } = await run(['--bucket', 'no-such-bucket']);
    expect(code).toBe(1);
    expect(err).toContain('could not read s3://no-such-bucket/reports/index.json: NoSuchBucket');
  });

  it('refuses a malformed --bucket with exit 2 before calling AWS', async () => {
    const { code, err } = await run(['--bucket', 'Not_A_Bucket']);
    expect(code).toBe(2);
    expect(err).toContain('--bucket: expected an S3 bucket name; got "Not_A_Bucket"');
  });
});
