/**
 * In-memory fakes of the drill's own ports (`functions/drill/ports/`), for table tests of one step
 * at a time. They are not SDK mocks: each keeps the state a real adapter keeps (instances, the
 * secret, the app, what was published), so a step is judged by what it did to them. The end-to-end
 * tests (`test/functions/drill/`) run the same steps over the real adapters.
 */
import { type Config, parseConfig } from '../../functions/core/config.ts';
import type { ExpectedMigration } from '../../functions/core/drift.ts';
import type { Escalation } from '../../functions/core/escalations.ts';
import type { DrillReport } from '../../functions/core/report.ts';
import type {
  DatabaseRecoveryPort,
  InstanceDescription,
  RestoreRequest,
} from '../../functions/drill/ports/database-recovery.ts';
import type {
  AppExit,
  AppHandle,
  AppRunner,
  ArtifactSource,
  ConnectionInfo,
  DrillDeps,
  DrillSecretStore,
  Notifier,
  ReportStore,
} from '../../functions/drill/ports/drill-deps.ts';

/** A configuration as a user writes it, with what a test sets on top. */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    ...overrides,
  });
}

/** The database service: instances restored into memory, a window, optional damaged records. */
export class FakeRecovery implements DatabaseRecoveryPort {
  readonly instances = new Map<string, InstanceDescription>();
  readonly requests: RestoreRequest[] = [];
  readonly deleted: string[] = [];
  window: { earliest: Date | null; latest: Date | null };
  damaged: string[] | null = null;
  /** What the next restore does: describe the new instance, or throw. */
  onRestore: (request: RestoreRequest) => InstanceDescription | Error;
  failDelete: Error | null = null;

  constructor(now: Date) {
    this.window = {
      earliest: new Date(now.getTime() - 86_400_000),
      latest: new Date(now.getTime() - 60_000),
    };
    this.onRestore = (request) => instance(request.instanceId, { status: 'creating', tags: request.tags });
  }

  async restorableWindow() {
    return this.window;
  }
  async restoreToPointInTime(request: RestoreRequest): Promise<InstanceDescription> {
    this.requests.push(request);
    const outcome = this.onRestore(request);
    if (outcome instanceof Error) throw outcome;
    this.instances.set(outcome.id, outcome);
    return outcome;
  }
  async describeInstance(id: string): Promise<InstanceDescription | null> {
    return this.instances.get(id) ?? null;
  }
  async deleteInstance(id: string): Promise<void> {
    if (this.failDelete) throw this.failDelete;
    this.instances.delete(id);
    this.deleted.push(id);
  }
  get damagedState(): (() => Promise<string[]>) | undefined {
    const damaged = this.damaged;
    return damaged === null ? undefined : async () => damaged;
  }
}

/** An instance as the engine describes it. */
export function instance(id: string, fields: Partial<InstanceDescription> = {}): InstanceDescription {
  return {
    id,
    status: 'available',
    endpoint: { host: '127.0.0.1', port: 5432 },
    tags: {},
    targetTime: null,
    restorePointAt: null,
    restorePointSource: null,
    failureReason: null,
    ...fields,
  };
}

/** The drill secret, in memory: one connection and one session per drill. */
export class FakeSecrets implements DrillSecretStore {
  readonly connections = new Map<string, { url: string; session: string | null }>();
  failClear: Error | null = null;

  async writeConnection(drillId: string, described: InstanceDescription) {
    const connection: ConnectionInfo = {
      host: described.endpoint?.host ?? 'none',
      port: described.endpoint?.port ?? 0,
      database: 'app',
      user: 'drill',
    };
    this.connections.set(`fake:${drillId}`, {
      url: `postgres://drill:not-a-real-password@${connection.host}:${connection.port}/app`,
      session: null,
    });
    return { secretRef: `fake:${drillId}`, connection };
  }
  async connectionUrl(secretRef: string) {
    const entry = this.connections.get(secretRef);
    if (!entry) throw new Error(`no secret ${secretRef}`);
    return entry.url;
  }
  async writeSession(secretRef: string, session: string) {
    const entry = this.connections.get(secretRef);
    if (!entry) throw new Error(`no secret ${secretRef}`);
    entry.session = session;
  }
  async readSession(secretRef: string) {
    return this.connections.get(secretRef)?.session ?? null;
  }
  async clear(drillId: string) {
    if (this.failClear) throw this.failClear;
    this.connections.delete(`fake:${drillId}`);
    return true;
  }
}

/** The app: started at a URL, stopped on demand; it can be made to fail or to exit. */
export class FakeApp implements AppRunner {
  running = new Set<string>();
  baseUrl = 'http://127.0.0.1:9';
  failStart: Error | null = null;
  failStop: Error | null = null;
  exit: AppExit | null = null;

  async start(drillId: string): Promise<AppHandle> {
    if (this.failStart) throw this.failStart;
    this.running.add(drillId);
    return { baseUrl: this.baseUrl, handle: `app-${drillId}` };
  }
  async stopAll(drillId: string): Promise<string[]> {
    if (this.failStop) throw this.failStop;
    const was = this.running.delete(drillId);
    return was ? [`app of ${drillId}`] : [];
  }
  exited(): Promise<AppExit> | null {
    const exit = this.exit;
    return exit ? Promise.resolve(exit) : null;
  }
}

/** Everything a drill writes out, kept. */
export class FakeOutputs implements ReportStore, Notifier {
  readonly reports: DrillReport[] = [];
  readonly published: { report: DrillReport; escalations: readonly Escalation[] }[] = [];
  failWrite: Error | null = null;

  async write(report: DrillReport) {
    if (this.failWrite) throw this.failWrite;
    this.reports.push(report);
    return { json: `mem://${report.drillId}.json`, markdown: `mem://${report.drillId}.md` };
  }
  async publish(report: DrillReport, escalations: readonly Escalation[]) {
    this.published.push({ report, escalations });
    return escalations.length + 1;
  }
}

export interface Fakes {
  readonly recovery: FakeRecovery;
  readonly secrets: FakeSecrets;
  readonly app: FakeApp;
  readonly outputs: FakeOutputs;
  readonly artifacts: ArtifactSource & {
    migrations: () => Promise<{ migrations: ExpectedMigration[]; source: string }>;
  };
  readonly clock: { now: Date };
  readonly deps: DrillDeps;
}

/** A fresh set of fakes and the deps over them; the clock moves only when a test moves it. */
export function fakes(
  options: {
    config?: Config;
    mode?: 'local' | 'aws';
    keepInstance?: boolean;
    restoreTimeoutSeconds?: number;
  } = {},
): Fakes {
  const clock = { now: new Date('2026-11-26T03:00:00.000Z') };
  const recovery = new FakeRecovery(clock.now);
  const secrets = new FakeSecrets();
  const app = new FakeApp();
  const outputs = new FakeOutputs();
  const artifacts = { migrations: async () => ({ migrations: [] as ExpectedMigration[], source: 'memory' }) };
  const deps: DrillDeps = {
    settings: {
      config: options.config ?? testConfig(),
      mode: options.mode ?? 'aws',
      restoreTimeoutSeconds: options.restoreTimeoutSeconds ?? 600,
      keepInstance: options.keepInstance ?? false,
    },
    recovery,
    secrets,
    app,
    artifacts,
    reports: outputs,
    notifier: outputs,
    adminPassword: async () => 'not-a-real-password',
    now: () => new Date(clock.now),
  };
  return { recovery, secrets, app, outputs, artifacts, clock, deps };
}
