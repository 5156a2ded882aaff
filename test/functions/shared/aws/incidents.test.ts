import { describe, expect, it } from 'vitest';
import {
  markNotified,
  observeIncident,
  resolveIncident,
} from '../../../../functions/shared/aws/incidents.ts';
import { createStateTable, useMotoClients } from '../../fixtures.ts';

const aws = useMotoClients();

const at = (minute: number) => new Date(Date.UTC(2026, 10, 26, 3, minute));

describe('incident state', () => {
  it('opens an incident once even when two checks overlap', async () => {
    const table = await createStateTable(aws.clients.ddb);
    const both = await Promise.all([
      observeIncident(aws.clients.ddb, table, 'incident#BACKUP_STALE#db', at(0), 'lag 90 min'),
      observeIncident(aws.clients.ddb, table, 'incident#BACKUP_STALE#db', at(0), 'lag 90 min'),
    ]);
    expect(both.map((o) => o.opened).sort()).toEqual([false, true]);
    expect(both.map((o) => o.observations).sort()).toEqual([1, 2]);
  });

  it('remembers the notification until the incident is resolved, then starts afresh', async () => {
    const table = await createStateTable(aws.clients.ddb);
    const key = 'incident#BACKUP_STALE#db';
    expect(await resolveIncident(aws.clients.ddb, table, key, at(0))).toBeNull();
    await observeIncident(aws.clients.ddb, table, key, at(0), 'lag 90 min');
    await markNotified(aws.clients.ddb, table, key, at(1));
    expect(await observeIncident(aws.clients.ddb, table, key, at(15), 'lag 105 min')).toEqual({
      opened: false,
      openedAt: at(0).toISOString(),
      notifiedAt: at(1).toISOString(),
      observations: 2,
    });
    expect(await resolveIncident(aws.clients.ddb, table, key, at(30))).toEqual({
      openedAt: at(0).toISOString(),
      notifiedAt: at(1).toISOString(),
      observations: 2,
    });
    expect(await resolveIncident(aws.clients.ddb, table, key, at(45))).toBeNull();
    expect(await observeIncident(aws.clients.ddb, table, key, at(60), 'lag 61 min')).toEqual({
      opened: true,
      openedAt: at(60).toISOString(),
      notifiedAt: null,
      observations: 1,
    });
  });
});
