import { describe, expect, it } from 'vitest';
import { type ConfigInput, parseConfig } from '../../functions/core/config.ts';
import { ESCALATION_CLASSES, ESCALATION_RULES } from '../../functions/core/escalations.ts';
import { renderRunbook } from '../../functions/core/runbook.ts';

function config(overrides: Partial<ConfigInput> = {}) {
  return parseConfig({
    environment: 'bt-cts-prod',
    source: { dbInstanceIdentifier: 'bt-cts-db', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1', copyAccountId: '210987654321', sourceAccountId: '123456789012' },
    targets: { rpoMinutes: 45, rtoMinutes: 20 },
    retention: { daily: 40, monthly: 18, maxDeletionsPerRun: 7 },
    schedules: { snapshot: 'cron(15 2 * * ? *)', drill: 'cron(0 7 ? 2,5,8,11 TUE#2 *)' },
    app: {
      repoPath: '/srv/netek2',
      migrationsDir: 'apps/api/db/migrations',
      migrateCommand: 'npm --workspace apps/api run migrate:deploy',
      startCommand: 'node apps/api/dist/main.js',
    },
    smoke: { readyPath: '/ready', adminUsername: 'ops-admin', readyBudgetSeconds: 90 },
    integrity: { criticalTables: ['User', 'Ledger'] },
    ...overrides,
  });
}

describe('runbook from config', () => {
  it('states the configured RPO and RTO targets', () => {
    const text = renderRunbook(config());
    expect(text).toContain('Target RPO: at most 45 minutes');
    expect(text).toContain('Target RTO: at most 20 minutes');
    expect(text).toMatch(/^# bt-cts-prod: Backup and Recovery Runbook/);
  });

  it('gives the backup policy with the configured schedules, retention and isolation', () => {
    const text = renderRunbook(config());
    expect(text).toContain('`cron(15 2 * * ? *)`');
    expect(text).toContain('Keep at least 40 daily and 18 monthly restore points');
    expect(text).toContain('deletes at most 7 per run');
    expect(text).toContain('`eu-central-1`, account `210987654321`');
  });

  it('names the real artifact paths and restore commands', () => {
    const text = renderRunbook(config());
    expect(text).toContain('`/srv/netek2/apps/api/db/migrations/`');
    expect(text).toContain('`/srv/netek2/apps/api/.env.example`');
    expect(text).toContain('`npm --workspace apps/api run migrate:deploy`');
    expect(text).toContain('`node apps/api/dist/main.js`');
    expect(text).toContain('`GET /ready` answers 200 within 90 seconds');
    expect(text).toContain('login as `ops-admin`');
    expect(text).toContain('`User`, `Ledger`');
  });

  it('lists every escalation class with its severity and first action', () => {
    const text = renderRunbook(config());
    for (const c of ESCALATION_CLASSES) {
      const line = text.split('\n').find((l) => l.startsWith(`| \`${c}\` |`));
      expect(line).toContain(`| ${ESCALATION_RULES[c].severity} |`);
      expect(line).toContain(ESCALATION_RULES[c].remediation.slice(0, 40));
    }
  });

  it('gives the drill schedule and follows a change of it', () => {
    expect(renderRunbook(config())).toContain('Runs on `cron(0 7 ? 2,5,8,11 TUE#2 *)` (UTC)');
    const changed = renderRunbook(
      config({ schedules: { drill: 'cron(0 6 ? 1,4,7,10 MON#1 *)', timezone: 'UTC' } }),
    );
    expect(changed).toContain('Runs on `cron(0 6 ? 1,4,7,10 MON#1 *)`');
    expect(changed).not.toContain('TUE#2');
  });

  it('prints the app paths relative to the repository when repoPath is the current folder', () => {
    const text = renderRunbook(config({ app: {} }));
    expect(text).toContain('`apps/api/prisma/migrations/`');
    expect(text).toContain('`npm --workspace apps/api exec prisma migrate deploy`');
  });
});
