/**
 * What the drill's steps need from the world, as interfaces: each has an AWS adapter (RDS,
 * Secrets Manager, ECS, S3, SNS) and a local one (embedded PostgreSQL, files, child processes).
 * The steps in `steps.ts` only ever talk to these.
 */
import type { ExpectedMigration } from '../../core/drift.ts';
import type { Escalation } from '../../core/escalations.ts';
import type { DrillReport } from '../../core/report.ts';
import type { DrillConfig } from '../../core/settings.ts';
import type { DatabaseRecoveryPort, InstanceDescription } from './database-recovery.ts';

/** Where a drill database can be reached, without its password. */
export interface ConnectionInfo {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/**
 * The drill-owned secret holding the drill database's connection. Only a reference (`secretRef`)
 * ever appears in the execution state; the URL with the password is read where it is used.
 */
export interface DrillSecretStore {
  /** Writes the connection of the restored instance; returns the secret's reference and the public part. */
  writeConnection(
    drillId: string,
    instance: InstanceDescription,
  ): Promise<{ secretRef: string; connection: ConnectionInfo }>;
  /** `postgres://user:password@host:port/db`: never log it, never return it from a step. */
  connectionUrl(secretRef: string): Promise<string>;
  /**
   * Keeps the admin's login session (a serialized cookie jar or bearer token) beside the
   * connection, so the smoke checks and the evaluate step (separate invocations in AWS) reuse the
   * one login of the drill without the session ever passing through the execution state.
   * @throws when the secret holds no connection (a drill that never connected, or one cleared).
   */
  writeSession(secretRef: string, session: string): Promise<void>;
  /** The session the login step kept, or null when there is none (never logged in, or cleared). */
  readSession(secretRef: string): Promise<string | null>;
  /**
   * Removes (or blanks) the drill's secret, the session with it. Idempotent. A secret shared by
   * every drill (AWS: the stack's one drill secret) is blanked only while it holds this drill's
   * values: a cleanup that runs late (after an aborted execution) never blanks a newer drill's.
   * @returns false when the secret holds another drill's values and was left as it is.
   */
  clear(drillId: string): Promise<boolean>;
}

export interface AppHandle {
  readonly baseUrl: string;
  /** Opaque reference to what runs the app (an ECS task ARN, a local process id). */
  readonly handle: string;
  /** Something on-call should know about how it was started (e.g. another port than configured). */
  readonly note?: string;
}

/** An app that ended while the drill still needed it: how, when, and what it said last. */
export interface AppExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Seconds from its start to its end. */
  readonly afterSeconds: number;
  /** Where its whole output is (redacted). */
  readonly logFile: string;
  /** Its last lines of output (redacted), newest last. */
  readonly logTail: readonly string[];
}

/** Runs the app against a drill database, for the smoke checks. */
export interface AppRunner {
  /** Starts the app against the drill database (or returns the configured staging URL). */
  start(drillId: string, secretRef: string): Promise<AppHandle>;
  /** Stops everything this drill started. Returns what was stopped. Idempotent. */
  stopAll(drillId: string): Promise<string[]>;
  /**
   * Settles when the app this drill started ends on its own (never for `stopAll`), so a smoke
   * check fails at once with the exit instead of waiting out its budget against a dead port.
   * Null (or absent) when the runner cannot watch the app (ECS, a staging URL).
   */
  exited?(drillId: string): Promise<AppExit> | null;
}

/** How the app's migrate command ended, in the shape of the ECS task result the state machine keeps. */
export interface MigrateTaskResult {
  readonly exitCode: number;
  readonly stoppedReason: string;
  readonly taskArn: string;
}

/**
 * The `Run migrations` state: the app's migrate command, to completion, against the drill database.
 * No step calls it, so it is not in {@link DrillDeps}: in AWS the state machine runs the command
 * itself as an ECS task of the app's image (`lib/drill/drill-state-machine.ts`); the local engine
 * binds that state to its implementation of this port.
 */
export interface MigrationRunner {
  migrate(drillId: string, secretRef: string): Promise<MigrateTaskResult>;
}

/** The migrations the app shipped with the backup being restored (from the captured artifacts). */
export interface ArtifactSource {
  migrations(
    instance: InstanceDescription | null,
  ): Promise<{ migrations: ExpectedMigration[]; source: string }>;
}

export interface ReportStore {
  /** Stores the report (JSON and Markdown, plus history); returns where. */
  write(report: DrillReport, markdown: string): Promise<{ json: string; markdown: string }>;
}

export interface Notifier {
  /** Publishes each escalation and one summary of the drill. Returns how many messages went out. */
  publish(
    report: DrillReport,
    escalations: readonly Escalation[],
    links?: { readonly executionArn?: string | null },
  ): Promise<number>;
}

/** The settings a drill runs with: the configuration, plus what the engine decides. */
export interface DrillSettings {
  /** The sections of the configuration a drill reads (`DRILL_SECTIONS`): what an AWS drill function receives. */
  readonly config: DrillConfig;
  readonly mode: 'local' | 'aws';
  /** Restore timeout in seconds (config `drill.restoreTimeoutMinutes`, shorter in fault tests). */
  readonly restoreTimeoutSeconds: number;
  /** Keep the restored database after the drill (local `--keep`): cleanup stops the app but keeps the instance. */
  readonly keepInstance: boolean;
}

export interface DrillDeps {
  readonly settings: DrillSettings;
  readonly recovery: DatabaseRecoveryPort;
  readonly secrets: DrillSecretStore;
  readonly app: AppRunner;
  readonly artifacts: ArtifactSource;
  readonly reports: ReportStore;
  readonly notifier: Notifier;
  /** The admin password for the login smoke check. */
  readonly adminPassword: () => Promise<string>;
  readonly now: () => Date;
  /** Hook run right before a step (the local engine's fault injection acts on the real parts here). */
  readonly beforeStep?: (step: string, state: Readonly<Record<string, unknown>>) => Promise<void>;
}
