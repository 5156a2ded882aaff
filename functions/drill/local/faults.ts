/**
 * Faults for `recovery-drill drill --local --inject FAULT`: each breaks a real part of the drill
 * (the restore, a migration file, the restored database, the app process) so the drill must find
 * it on its own and raise the escalation class the runbook names. None of them edits the report.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { EscalationClass } from '../../core/escalations.ts';
import type { DatabaseRecoveryPort } from '../../ports/database-recovery.ts';
import type { DrillDeps } from '../ports.ts';
import type { DrillState } from '../steps.ts';

export interface FaultSpec {
  /** What a person reads in `--help` and in the drill's output. */
  readonly does: string;
  /** The escalation class the drill must raise; null: the drill passes with a warning. */
  readonly expects: EscalationClass | null;
}

export const FAULTS = {
  'restore-failure': {
    does: 'asks the engine for a point past the archived WAL, which it refuses',
    expects: 'RESTORE_FAILED',
  },
  'restore-timeout': {
    does: 'the restored instance never reports available (a hung restore)',
    expects: 'RESTORE_FAILED',
  },
  'migration-failure': {
    does: 'ships a pending migration whose SQL is broken',
    expects: 'MIGRATION_FAILED',
  },
  'ready-503': {
    does: "erases the newest migration's record after migrating, so /health/ready answers 503",
    expects: 'READY_NOT_OK',
  },
  'login-failure': {
    does: 'makes the Session table refuse writes, so admin login cannot write its session',
    expects: 'AUTH_WRITE_FAILED',
  },
  'search-failure': {
    does: 'renames the Account table away before the account search',
    expects: 'SMOKE_FAILED',
  },
  'day-read-failure': {
    does: 'renames the DayState table away before the day-state read',
    expects: 'SMOKE_FAILED',
  },
  'integrity-orphan': {
    does: 'points a Transaction at an Account that does not exist (constraints bypassed)',
    expects: 'INTEGRITY_FAILED',
  },
  'integrity-future-row': {
    does: 'dates an AuditLog row a day after the restore target',
    expects: 'INTEGRITY_FAILED',
  },
  'rpo-breach': {
    does: 'restores to a point older than asked by more than the RPO target (lost WAL)',
    expects: 'RPO_BREACHED',
  },
  'rto-breach': { does: 'the app boots slower than the RTO target allows', expects: 'RTO_BREACHED' },
  'evaluate-down': {
    does: 'stops the app before the recovery-evaluate call (the drill still passes, with a warning)',
    expects: null,
  },
  'cleanup-failure': {
    does: 'the drill instance cannot be deleted (`recovery-drill local cleanup` removes it afterwards)',
    expects: 'CLEANUP_FAILED',
  },
} as const satisfies Record<string, FaultSpec>;

export type FaultName = keyof typeof FAULTS;

export function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(FAULTS, name);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function onDrillDatabase(deps: DrillDeps, state: DrillState, sql: string[]): Promise<void> {
  const secretRef = state.connection?.secretRef;
  if (!secretRef) throw new Error('fault: no drill database yet');
  const client = new pg.Client({ connectionString: await deps.secrets.connectionUrl(secretRef) });
  await client.connect();
  try {
    for (const statement of sql) await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface FaultContext {
  /** The drill's own folder (`<stateDir>/drills/<id>`). */
  readonly drillDir: string;
  /** The app checkout and its migrations folder (relative). */
  readonly appRoot: string;
  readonly migrationsDir: string;
}

/** What the local engine must change to run with a fault. */
export interface FaultPlan {
  /** The recovery port to use (possibly wrapped). */
  readonly recovery: DatabaseRecoveryPort;
  /** Migrations folder for the migrate command and the artifact source (absolute), when replaced. */
  readonly migrationsPath: string | null;
  /** Runs before each step. */
  readonly beforeStep: (step: string, state: Readonly<Record<string, unknown>>) => Promise<void>;
}

/** Prepares a fault. `deps` is the drill's dependencies, read lazily (the plan is made before they exist). */
export async function planFault(
  fault: FaultName | null,
  recovery: DatabaseRecoveryPort,
  context: FaultContext,
  deps: () => DrillDeps,
): Promise<FaultPlan> {
  const plan: { -readonly [K in keyof FaultPlan]: FaultPlan[K] } = {
    recovery,
    migrationsPath: null,
    beforeStep: async () => undefined,
  };
  const atStep = (wanted: string, action: (state: DrillState) => Promise<void>) => {
    plan.beforeStep = async (step, state) => {
      if (step === wanted) await action(state as DrillState);
    };
  };
  switch (fault) {
    case null:
      break;
    case 'restore-failure':
      plan.recovery = Object.assign(Object.create(recovery) as DatabaseRecoveryPort, {
        restoreToPointInTime: (request: Parameters<DatabaseRecoveryPort['restoreToPointInTime']>[0]) =>
          recovery.restoreToPointInTime({ ...request, targetTime: new Date(Date.now() + 3_600_000) }),
      });
      break;
    case 'restore-timeout':
      plan.recovery = Object.assign(Object.create(recovery) as DatabaseRecoveryPort, {
        describeInstance: async (id: string) => {
          const real = await recovery.describeInstance(id);
          return real && real.status === 'available'
            ? { ...real, status: 'creating' as const, endpoint: null }
            : real;
        },
      });
      break;
    case 'migration-failure': {
      const copy = join(context.drillDir, 'migrations');
      await mkdir(context.drillDir, { recursive: true });
      await cp(join(context.appRoot, context.migrationsDir), copy, { recursive: true });
      await mkdir(join(copy, '29991231235959_broken_by_fault'), { recursive: true });
      await writeFile(
        join(copy, '29991231235959_broken_by_fault', 'migration.sql'),
        '-- injected by recovery-drill --inject migration-failure\nALTER TABLE "Account" ADD COLUMN;\n',
      );
      plan.migrationsPath = copy;
      break;
    }
    case 'ready-503':
      atStep('startApp', (state) =>
        onDrillDatabase(deps(), state, [
          'DELETE FROM _prisma_migrations WHERE id = (SELECT id FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1)',
        ]),
      );
      break;
    case 'login-failure':
      atStep('smokeLogin', (state) =>
        onDrillDatabase(deps(), state, [
          `CREATE FUNCTION recovery_drill_fault_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'session writes refused (injected fault)'; END $$`,
          'CREATE TRIGGER recovery_drill_fault BEFORE INSERT ON "Session" FOR EACH ROW EXECUTE FUNCTION recovery_drill_fault_refuse()',
        ]),
      );
      break;
    case 'search-failure':
      atStep('smokeSearch', (state) =>
        onDrillDatabase(deps(), state, ['ALTER TABLE "Account" RENAME TO "Account_fault"']),
      );
      break;
    case 'day-read-failure':
      atStep('smokeDay', (state) =>
        onDrillDatabase(deps(), state, ['ALTER TABLE "DayState" RENAME TO "DayState_fault"']),
      );
      break;
    case 'integrity-orphan':
      atStep('integrity', (state) =>
        onDrillDatabase(deps(), state, [
          'SET session_replication_role = replica',
          'UPDATE "Transaction" SET "accountId" = -1 WHERE id = (SELECT min(id) FROM "Transaction")',
        ]),
      );
      break;
    case 'integrity-future-row':
      atStep('integrity', (state) =>
        onDrillDatabase(deps(), state, [
          `UPDATE "AuditLog" SET "createdAt" = now() + interval '1 day' WHERE id = (SELECT min(id) FROM "AuditLog")`,
        ]),
      );
      break;
    case 'rpo-breach':
      plan.recovery = Object.assign(Object.create(recovery) as DatabaseRecoveryPort, {
        restoreToPointInTime: async (
          request: Parameters<DatabaseRecoveryPort['restoreToPointInTime']>[0],
        ) => {
          const rpoMs = deps().settings.config.targets.rpoMinutes * 60_000;
          const window = await recovery.restorableWindow();
          const asked = request.targetTime === 'latest' ? (window.latest ?? new Date()) : request.targetTime;
          const earlier = new Date(
            Math.max(asked.getTime() - rpoMs - 5_000, window.earliest?.getTime() ?? 0),
          );
          return recovery.restoreToPointInTime({ ...request, targetTime: earlier });
        },
      });
      break;
    case 'rto-breach':
      atStep('startApp', async () => {
        await sleep(deps().settings.config.targets.rtoMinutes * 60_000 + 2_000);
      });
      break;
    case 'evaluate-down':
      atStep('evaluate', async (state) => {
        if (state.drill) await deps().app.stopAll(state.drill.drillId);
      });
      break;
    case 'cleanup-failure':
      plan.recovery = Object.assign(Object.create(recovery) as DatabaseRecoveryPort, {
        deleteInstance: async (id: string) => {
          throw new Error(`could not delete ${id} (injected fault: the instance is left running)`);
        },
      });
      break;
  }
  return plan;
}
