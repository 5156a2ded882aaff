import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { CommandIo } from '../../bin/commands/types.ts';
import { heartbeatPgCronSql, heartbeatSetupSql } from '../../functions/core/heartbeat.ts';

function capturedIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd };
  return { io, out, err };
}

const base = {
  source: { dbInstanceIdentifier: 'bt-cts-db', region: 'eu-west-1' },
  isolation: { copyRegion: 'eu-central-1' },
};

describe('heartbeat sql command', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'heartbeat-cli-'));
    writeFileSync(
      join(dir, 'good.json'),
      JSON.stringify({
        ...base,
        heartbeat: { schema: 'beats', retentionDays: 5, schedule: 'rate(5 minutes)' },
      }),
    );
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ ...base, heartbeat: { schema: 'no such; schema' } }),
    );
    writeFileSync(join(dir, 'function.json'), JSON.stringify({ ...base, heartbeat: { mode: 'function' } }));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints the setup SQL of the configured schema and retention, exit 0', async () => {
    const { io, out, err } = capturedIo(dir);
    expect(await main(['heartbeat', 'sql', '--config', 'good.json'], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toBe(heartbeatSetupSql({ schema: 'beats', retentionDays: 5 }));
    expect(out.join('\n')).toContain('CREATE TABLE IF NOT EXISTS "beats"."heartbeat"');
    expect(out.join('\n')).toContain("interval '5 days'");
  });

  it('prints the pg_cron job for the given database on the configured schedule, exit 0', async () => {
    const { io, out } = capturedIo(dir);
    expect(
      await main(['heartbeat', 'sql', '--config', 'good.json', '--pg-cron', '--database', 'btcts'], io),
    ).toBe(0);
    const text = out.join('\n');
    expect(text).toBe(
      heartbeatPgCronSql({
        schema: 'beats',
        retentionDays: 5,
        schedule: 'rate(5 minutes)',
        database: 'btcts',
      }),
    );
    expect(text).toContain("'*/5 * * * *'");
  });

  it('refuses --pg-cron without --database, and --database alone, exit 2', async () => {
    const missing = capturedIo(dir);
    expect(await main(['heartbeat', 'sql', '--config', 'good.json', '--pg-cron'], missing.io)).toBe(2);
    expect(missing.err.join('\n')).toContain('--database: expected the name of the application database');
    expect(missing.out).toEqual([]);
    const alone = capturedIo(dir);
    expect(await main(['heartbeat', 'sql', '--config', 'good.json', '--database', 'btcts'], alone.io)).toBe(
      2,
    );
    expect(alone.err.join('\n')).toContain('--database: only with --pg-cron');
  });

  it('refuses a bad configuration naming the field and the value, exit 2, printing no SQL', async () => {
    const { io, out, err } = capturedIo(dir);
    expect(await main(['heartbeat', 'sql', '--config', 'bad.json'], io)).toBe(2);
    expect(err.join('\n')).toContain('heartbeat.schema: expected a SQL identifier; got "no such; schema"');
    expect(out).toEqual([]);
    const function_ = capturedIo(dir);
    expect(await main(['heartbeat', 'sql', '--config', 'function.json'], function_.io)).toBe(2);
    expect(function_.err.join('\n')).toContain('heartbeat.secretName');
    expect(function_.err.join('\n')).toContain('source.network');
  });

  it('refuses a pg_cron schedule pg_cron cannot run, naming heartbeat.schedule, exit 2', async () => {
    writeFileSync(
      join(dir, 'odd.json'),
      JSON.stringify({ ...base, heartbeat: { schedule: 'rate(7 minutes)' } }),
    );
    const { io, err } = capturedIo(dir);
    expect(
      await main(['heartbeat', 'sql', '--config', 'odd.json', '--pg-cron', '--database', 'btcts'], io),
    ).toBe(2);
    expect(err.join('\n')).toContain('heartbeat.schedule: pg_cron cannot run this schedule');
  });
});
