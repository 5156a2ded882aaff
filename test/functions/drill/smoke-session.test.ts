/**
 * The smoke checks and the evaluate step against a real HTTP app with the BT-CTS contract: each
 * step run through `runStep` as its own Task state (its own Lambda invocation in AWS), the result
 * stored where the state machine stores it, the session kept only in the real file-backed drill
 * secret. Proves one login per drill, the refusal paths, and the recovery-evaluate mapping.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../../functions/core/config.ts';
import { type DrillTaskStep, withStepResult } from '../../../functions/core/drill-steps.ts';
import type { DrillReport } from '../../../functions/core/report.ts';
import { FolderReportStore, RecordingNotifier } from '../../../functions/drill/adapters/local/reports.ts';
import { FileSecretStore } from '../../../functions/drill/adapters/local/secrets.ts';
import type {
  DatabaseRecoveryPort,
  InstanceDescription,
} from '../../../functions/drill/ports/database-recovery.ts';
import type { DrillDeps } from '../../../functions/drill/ports/drill-deps.ts';
import { failureRecord } from '../../../functions/drill/ports/errors.ts';
import { type DrillState, runStep } from '../../../functions/drill/steps/index.ts';
import {
  appRecoveryArithmetic,
  type ContractApp,
  type ContractAppOptions,
  startContractApp,
} from '../../support/contract-app.ts';
import { drillConfig } from './aws/support.ts';

const ADMIN_PASSWORD = 'correct horse';
/** The drill database's URL as the connect step writes it into the secret (never reached by these steps). */
const DATABASE_URL = 'postgresql://drill:db-pass-4711@127.0.0.1:5999/btcts';

interface Drill {
  readonly app: ContractApp;
  readonly dir: string;
  readonly state: DrillState;
  readonly deps: DrillDeps;
  readonly secretRef: string;
  readonly printed: string[];
  /** Runs a step as its Task state does: the result at its path, an error caught into `failures.<step>`. */
  run(step: string): Promise<Error | null>;
  /** The report the report step wrote (JSON). */
  report(): DrillReport;
  /** Everything the drill wrote: state, report files, notifications, printed lines. */
  written(): string[];
}

describe('smoke checks and recovery-evaluate against an app with the BT-CTS contract', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function drill(
    options: {
      app?: ContractAppOptions;
      smoke?: ConfigInput['smoke'];
      password?: string;
      /** A drill to a chosen time (that many minutes before the drill start) instead of "latest". */
      pastMinutes?: number;
    } = {},
  ): Promise<Drill> {
    const app = await startContractApp({ password: ADMIN_PASSWORD, ...options.app });
    const dir = mkdtempSync(join(tmpdir(), 'smoke-session-'));
    cleanups.push(async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const config = drillConfig({ smoke: options.smoke ?? {} });
    const drillId = `d-${Math.random().toString(16).slice(2, 8)}`;
    const secrets = new FileSecretStore(dir, { instanceUrl: async () => DATABASE_URL });
    const printed: string[] = [];
    const store = new FolderReportStore(join(dir, 'reports'));
    const deps: DrillDeps = {
      // The AWS drill's semantics (heartbeat.mode "none": the engine's RPO only) over local stores.
      settings: { config, mode: 'aws', restoreTimeoutSeconds: 60, keepInstance: false },
      // Only cleanup asks, after the drill instance is gone.
      recovery: { describeInstance: async () => null } as unknown as DatabaseRecoveryPort,
      secrets,
      app: {
        start: () => Promise.reject(new Error('not part of these steps')),
        stopAll: async () => [],
      },
      artifacts: { migrations: () => Promise.reject(new Error('not part of these steps')) },
      reports: store,
      notifier: new RecordingNotifier(join(dir, 'notifications.jsonl'), (line) => printed.push(line)),
      adminPassword: async () => options.password ?? ADMIN_PASSWORD,
      now: () => new Date(),
    };

    // What validate, the restore wait, connect and start-app put into the state before the smoke checks.
    const startedAt = new Date(Date.now() - 90_000);
    const latest = options.pastMinutes === undefined;
    const target = new Date(startedAt.getTime() - (options.pastMinutes ?? 20 / 60) * 60_000);
    const timed = (from: Date) => ({
      startedAt: from.toISOString(),
      endedAt: from.toISOString(),
      outcome: 'passed' as const,
      detail: 'ok',
    });
    const instance: InstanceDescription = {
      id: `recovery-drill-${drillId}`,
      status: 'available',
      endpoint: { host: '127.0.0.1', port: 5999 },
      tags: {},
      targetTime: latest ? null : target.toISOString(),
      // RDS: LatestRestorableTime when the restore started for "latest", else the requested time.
      restorePointAt: target.toISOString(),
      restorePointSource: latest ? 'latest-restorable-time' : 'requested-time',
      failureReason: null,
    };
    const { secretRef, connection } = await secrets.writeConnection(drillId, instance);
    const state: DrillState = {
      drill: {
        ...timed(startedAt),
        drillId,
        instanceId: instance.id,
        // T: a "latest" drill's start, else the chosen time.
        targetTime: latest ? startedAt.toISOString() : target.toISOString(),
        requestedTarget: latest ? 'latest' : target.toISOString(),
        startedAt: startedAt.toISOString(),
        reason: 'smoke session test',
        requestedBy: null,
        from: 'source',
        dryRun: false,
        window: { earliest: null, latest: target.toISOString() },
        environment: 'test',
        mode: 'aws',
        executionArn: null,
      },
      restoreStatus: {
        ...timed(startedAt),
        status: 'available',
        pollSeconds: 1,
        polls: 1,
        elapsedSeconds: 30,
        restorePointAt: target.toISOString(),
        restorePointSource: instance.restorePointSource,
        endpoint: instance.endpoint,
      },
      connection: { ...timed(startedAt), secretRef, ...connection },
      app: { ...timed(startedAt), baseUrl: app.url, handle: 'contract-app' },
    };
    const run = async (step: DrillTaskStep): Promise<Error | null> => {
      try {
        const result = await runStep(step, structuredClone(state), deps, drillId);
        Object.assign(state, withStepResult(state, step, JSON.parse(JSON.stringify(result))));
        return null;
      } catch (error) {
        const e = error as Error;
        state.failures = { ...state.failures, [step]: failureRecord(e) };
        return e;
      }
    };
    const walk = (path: string, out: string[]) => {
      for (const name of readdirSync(path)) {
        const full = join(path, name);
        if (statSync(full).isDirectory()) walk(full, out);
        else out.push(readFileSync(full, 'utf8'));
      }
      return out;
    };
    return {
      app,
      dir,
      state,
      deps,
      secretRef,
      printed,
      run,
      report: () => JSON.parse(readFileSync(join(dir, 'reports', `${drillId}.json`), 'utf8')) as DrillReport,
      written: () => [JSON.stringify(state), ...printed, ...walk(dir, [])],
    };
  }

  /** The four steps that talk to the app, in drill order, each its own invocation. */
  async function smokeAndEvaluate(d: Drill): Promise<void> {
    for (const step of ['smokeLogin', 'smokeSearch', 'smokeDay', 'evaluate']) {
      expect(await d.run(step), step).toBeNull();
    }
  }

  /** Cleanup, report and notify as the state machine ends every drill. */
  async function finish(d: Drill): Promise<DrillReport> {
    for (const step of ['cleanup', 'report', 'notify']) expect(await d.run(step), step).toBeNull();
    return d.report();
  }

  /** Neither a session value the app issued nor a password is in anything the drill wrote. */
  function expectNoSecretsWritten(d: Drill, passwords: string[] = [ADMIN_PASSWORD]): void {
    const written = d.written();
    for (const secret of [...d.app.issued, ...passwords, 'db-pass-4711']) {
      for (const text of written) expect(text.includes(secret), `"${secret}" written`).toBe(false);
    }
  }

  it('logs in once and carries the session cookie through search, day state and recovery-evaluate', async () => {
    const d = await drill();
    await smokeAndEvaluate(d);
    expect(d.app.logins()).toBe(1);
    expect(d.app.requests).toEqual([
      { method: 'POST', path: '/api/auth/login', withSession: false },
      { method: 'GET', path: '/api/auth/me', withSession: true },
      { method: 'GET', path: '/api/accounts/search?q=a', withSession: true },
      { method: 'GET', path: '/api/day/current', withSession: true },
      { method: 'POST', path: '/api/admin/ops/recovery-evaluate', withSession: true },
    ]);
    expect(d.state.smoke?.login?.detail).toBe(
      'POST /api/auth/login as admin (role ADMIN): 200, session cookie connect.sid; GET /api/auth/me with it: 200, kept in the drill secret for the later checks',
    );
    expect(d.state.smoke?.search?.detail).toBe('GET /api/accounts/search?q=a: 200, 3 account(s)');
    expect(d.state.smoke?.day?.detail).toBe(
      `GET /api/day/current: 200, day state OPEN (business date ${new Date().toISOString().slice(0, 10)})`,
    );
    // The session lives in the drill secret only, and goes with it at cleanup.
    expect(await d.deps.secrets.readSession(d.secretRef)).toContain('connect.sid');
    const secretFile = join(d.dir, 'drills', d.state.drill?.drillId ?? '', 'secret.json');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const report = await finish(d);
    await expect(d.deps.secrets.readSession(d.secretRef)).rejects.toMatchObject({ name: 'SecretError' });
    expect(report.passed).toBe(true);
    expect(report.deviations).toEqual([]);
    expect(d.app.issued.length).toBeGreaterThan(0);
    expect(report.appVerdict).toMatchObject({
      httpStatus: 200,
      rpoMinutes: report.rpoMinutes,
      rtoMinutes: report.rtoMinutes,
      rpoPassed: true,
      rtoPassed: true,
      overallPass: true,
      rtoComparable: true,
    });
    const markdown = readFileSync(join(d.dir, 'reports', `${report.drillId}.md`), 'utf8');
    expect(markdown).toContain(
      `| App's recovery-evaluate | HTTP 200; RPO ${report.rpoMinutes} min (met), RTO ${report.rtoMinutes} min (met); overall pass |`,
    );
    expectNoSecretsWritten(d);
  });

  it("sends a payload the app's own arithmetic turns into our RPO and RTO, and parses its answer", async () => {
    const d = await drill({ smoke: { accountSearchTerm: 'beta' } });
    await smokeAndEvaluate(d);
    const drillInfo = d.state.drill;
    const evaluation = d.state.evaluation?.evaluation;
    expect(d.app.evaluations).toEqual([
      {
        // T: a "latest" drill measures from its start; P: the restore point; ready: the smoke checks' end.
        backupCompletedAt: drillInfo?.startedAt,
        restorePointAt: d.state.restoreStatus?.restorePointAt,
        restoreCompletedAt: d.state.smoke?.day?.endedAt,
        targetRpoMinutes: 60,
        targetRtoMinutes: 30,
      },
    ]);
    for (const key of ['backupCompletedAt', 'restorePointAt', 'restoreCompletedAt'])
      expect(d.app.evaluations[0]?.[key]).toMatch(/Z$/);
    const app = appRecoveryArithmetic(d.app.evaluations[0] as never);
    expect(Math.abs(app.rpoMinutes - (evaluation?.rpoMinutes ?? Number.NaN))).toBeLessThanOrEqual(0.01);
    expect(Math.abs(app.rtoMinutes - (evaluation?.rtoMinutes ?? Number.NaN))).toBeLessThanOrEqual(0.01);
    expect(evaluation?.rpoMinutes).toBeCloseTo(20 / 60, 2);
    expect(d.state.evaluation?.appVerdict).toMatchObject({
      httpStatus: 200,
      rpoMinutes: app.rpoMinutes,
      rtoMinutes: app.rtoMinutes,
      rpoPassed: true,
      rtoPassed: true,
      overallPass: true,
    });
    expect(d.state.evaluation?.outcome).toBe('passed');
    expect(d.state.smoke?.search?.detail).toBe('GET /api/accounts/search?q=beta: 200, 1 account(s)');
  });

  it('uses a bearer token from the configured login field when smoke.auth says so, one login', async () => {
    const d = await drill({
      app: { auth: 'bearer', tokenField: 'accessToken' },
      smoke: { auth: { kind: 'bearer', tokenField: 'accessToken' } },
    });
    await smokeAndEvaluate(d);
    expect(d.app.logins()).toBe(1);
    expect(d.app.requests.slice(1).every((r) => r.withSession)).toBe(true);
    expect(d.state.smoke?.login?.detail).toContain(
      '200, bearer token; GET /api/auth/me with it: 200, kept in the drill secret',
    );
    expect(d.state.evaluation?.appVerdict?.httpStatus).toBe(200);
    const report = await finish(d);
    expect(report.passed).toBe(true);
    expect(d.app.issued.length).toBeGreaterThan(0);
    expectNoSecretsWritten(d);
  });

  it('fails AUTH_WRITE_FAILED with the status after exactly one login attempt on a wrong admin password', async () => {
    const d = await drill({ password: 'wrong horse' });
    const error = await d.run('smokeLogin');
    expect(error?.name).toBe('AuthWriteFailedError');
    expect(error?.message).toBe(
      'admin login as "admin" failed: POST /api/auth/login answered HTTP 401 INVALID_CREDENTIALS; not retried: the app locks accounts after 5 failed logins',
    );
    expect(d.app.logins()).toBe(1);
    // The state machine goes from the failed step to cleanup, report and notify.
    const report = await finish(d);
    expect(d.app.logins()).toBe(1);
    expect(report.escalations.map((e) => e.class)).toEqual(['AUTH_WRITE_FAILED']);
    expect(report.escalations[0]?.message).toContain('HTTP 401 INVALID_CREDENTIALS');
    expect(d.app.requests.map((r) => r.path)).toEqual(['/api/auth/login']);
    expectNoSecretsWritten(d, ['wrong horse']);
  });

  it('fails AUTH_WRITE_FAILED when the login answers 200 but the app never kept its session', async () => {
    const d = await drill({ app: { sessionStoreBroken: true } });
    const error = await d.run('smokeLogin');
    expect(error?.name).toBe('AuthWriteFailedError');
    expect(error?.message).toContain(
      'the session write of the admin login (POST /api/auth/login answered 200, then the app did not accept its session) failed: GET /api/auth/me answered HTTP 401',
    );
    expect(d.app.logins()).toBe(1);
    expect(d.app.requests.map((r) => r.path)).toEqual(['/api/auth/login', '/api/auth/me']);
    const report = await finish(d);
    expect(report.escalations.map((e) => e.class)).toEqual(['AUTH_WRITE_FAILED']);
    expect(d.app.logins()).toBe(1);
  });

  it('names a locked account and does not try again', async () => {
    const d = await drill();
    for (let i = 0; i < 5; i++) {
      await fetch(`${d.app.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'guess' }),
      });
    }
    const error = await d.run('smokeLogin');
    expect(error?.message).toContain('answered HTTP 403 LOCKED; not retried');
    expect(d.app.logins()).toBe(6);
  });

  it('fails AUTH_WRITE_FAILED on a 200 that carries no session of the configured kind', async () => {
    const cookieless = await drill({ app: { auth: 'bearer' } });
    const noCookie = await cookieless.run('smokeLogin');
    expect(noCookie?.name).toBe('AuthWriteFailedError');
    expect(noCookie?.message).toBe(
      'admin login as "admin" failed: POST /api/auth/login answered 200 without a session cookie (smoke.auth.kind is "cookie"): it answered a "token" field instead: set smoke.auth to {"kind":"bearer","tokenField":"token"}',
    );
    const tokenless = await drill({ smoke: { auth: { kind: 'bearer', tokenField: 'token' } } });
    const noToken = await tokenless.run('smokeLogin');
    expect(noToken?.name).toBe('AuthWriteFailedError');
    expect(noToken?.message).toBe(
      `admin login as "admin" failed: POST /api/auth/login answered 200 without a "token" field (smoke.auth.tokenField; the answer's fields: id, role, branchCode); it set a cookie instead: set smoke.auth to {"kind":"cookie"}`,
    );
    expect([cookieless.app.logins(), tokenless.app.logins()]).toEqual([1, 1]);
    // Neither kept a session: a later check has none to use and does not log in for itself.
    expect(await cookieless.run('smokeSearch')).toMatchObject({ name: 'SmokeFailedError' });
    expect(cookieless.app.logins()).toBe(1);
  });

  it('passes the search with at least smoke.accountSearchMinResults accounts and fails it with fewer', async () => {
    const enough = await drill({ smoke: { accountSearchMinResults: 3 } });
    expect(await enough.run('smokeLogin')).toBeNull();
    expect(await enough.run('smokeSearch')).toBeNull();
    expect(enough.state.smoke?.search?.detail).toBe(
      'GET /api/accounts/search?q=a: 200, 3 account(s) (at least 3 required)',
    );
    const few = await drill({ smoke: { accountSearchMinResults: 4 } });
    expect(await few.run('smokeLogin')).toBeNull();
    const error = await few.run('smokeSearch');
    expect(error?.name).toBe('SmokeFailedError');
    expect(error?.message).toBe(
      'account search failed: GET /api/accounts/search?q=a listed 3 account(s), fewer than smoke.accountSearchMinResults (4)',
    );
    const empty = await drill({ smoke: { accountSearchTerm: 'zzz' } });
    expect(await empty.run('smokeLogin')).toBeNull();
    expect(await empty.run('smokeSearch')).toBeNull();
    expect(empty.state.smoke?.search?.detail).toBe('GET /api/accounts/search?q=zzz: 200, 0 account(s)');
  });

  it('fails the search on JSON that is not an array, and on a session the app no longer accepts', async () => {
    const wrapped = await drill({ app: { searchShape: 'object' } });
    expect(await wrapped.run('smokeLogin')).toBeNull();
    const error = await wrapped.run('smokeSearch');
    expect(error?.name).toBe('SmokeFailedError');
    expect(error?.message).toBe(
      'account search failed: GET /api/accounts/search?q=a answered 200 with JSON that is not an array (object)',
    );
    const expired = await drill();
    expect(await expired.run('smokeLogin')).toBeNull();
    expired.app.expireSessions();
    const refused = await expired.run('smokeSearch');
    expect(refused?.name).toBe('SmokeFailedError');
    expect(refused?.message).toContain(
      'answered HTTP 401: {"error":"UNAUTHENTICATED"}; the session from the login step was refused, not logged in again',
    );
    expect(expired.app.logins()).toBe(1);
  });

  it('lists an app verdict that disagrees with ours as a deviation without failing the drill', async () => {
    const d = await drill({ app: { formula: 'rto-from-restore-point' } });
    await smokeAndEvaluate(d);
    const report = await finish(d);
    expect(report.passed).toBe(true);
    const ours = report.rtoMinutes ?? Number.NaN;
    const theirs = report.appVerdict?.rtoMinutes ?? Number.NaN;
    expect(theirs - ours).toBeCloseTo(20 / 60, 1);
    expect(report.deviations).toEqual([
      expect.objectContaining({
        kind: 'APP_VERDICT_MISMATCH',
        observed: `the app's recovery-evaluate measured RTO ${theirs} min (met), the drill ${ours} min (met)`,
      }),
    ]);
    const html = readFileSync(join(d.dir, 'reports', `${report.drillId}.html`), 'utf8');
    expect(html).toContain('<td>APP_VERDICT_MISMATCH</td>');
    expectNoSecretsWritten(d);
  });

  it('records a 400 from recovery-evaluate as a warning with its body, the drill still passing', async () => {
    const d = await drill({ app: { formula: 'swapped' } });
    await smokeAndEvaluate(d);
    expect(d.state.evaluation?.outcome).toBe('warning');
    expect(d.state.evaluation?.appVerdict).toMatchObject({ httpStatus: 400, rpoMinutes: null });
    const report = await finish(d);
    expect(report.passed).toBe(true);
    expect(report.warnings).toEqual([
      expect.stringContaining(
        `the app's recovery-evaluate gave no verdict: HTTP 400 INVALID_SEQUENCE_RPO_NEGATIVE; body: {"error":"INVALID_SEQUENCE_RPO_NEGATIVE"}`,
      ),
    ]);
    expect(report.deviations).toEqual([]);
  });

  it('records an expired session at recovery-evaluate as a warning and does not log in again', async () => {
    const d = await drill();
    for (const step of ['smokeLogin', 'smokeSearch', 'smokeDay']) expect(await d.run(step)).toBeNull();
    d.app.expireSessions();
    expect(await d.run('evaluate')).toBeNull();
    expect(d.app.logins()).toBe(1);
    expect(d.state.evaluation?.outcome).toBe('warning');
    expect(d.state.evaluation?.detail).toContain(
      "the app's recovery-evaluate gave no verdict: HTTP 401 UNAUTHENTICATED: the login session was refused (expired, or the admin lacks the role); not logged in again, one login per drill",
    );
    const report = await finish(d);
    expect(report.passed).toBe(true);
    expect(report.warnings).toHaveLength(1);
  });

  it('compares only the RPO for a drill to a chosen past time, and the report says why', async () => {
    const d = await drill({ pastMinutes: 120 });
    await smokeAndEvaluate(d);
    const verdict = d.state.evaluation?.appVerdict;
    // The app counts RTO from T (two hours before the drill started): far over its target.
    expect(verdict).toMatchObject({
      httpStatus: 200,
      rtoComparable: false,
      rtoPassed: false,
      overallPass: false,
    });
    expect(verdict?.rpoMinutes).toBe(d.state.evaluation?.evaluation.rpoMinutes);
    const report = await finish(d);
    expect(report.passed).toBe(true);
    expect(report.deviations).toEqual([]);
    const markdown = readFileSync(join(d.dir, 'reports', `${report.drillId}.md`), 'utf8');
    expect(markdown).toMatch(
      /RTO \d+(\.\d+)? min \(missed\), counted from the chosen target time, not compared; overall fail/,
    );
  });
});
