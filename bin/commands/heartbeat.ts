import { heartbeatPgCronSql, heartbeatSetupSql } from '../../functions/core/heartbeat.ts';
import { loadConfig } from '../../functions/shared/config-file.ts';
import { type CommandRunner, EXIT, stringOption, UsageError } from './types.ts';

/**
 * `heartbeat sql`: the setup SQL for the DBA, from the configuration in force (schema, retention,
 * schedule), so what the DBA runs and what the function and the drill expect never drift apart.
 */
export const heartbeatSql: CommandRunner = {
  async run({ values, io }) {
    const { config } = loadConfig({ explicitPath: stringOption(values, 'config'), env: io.env, cwd: io.cwd });
    const database = stringOption(values, 'database');
    const { schema, retentionDays, schedule } = config.heartbeat;
    if (values['pg-cron']) {
      if (!database)
        throw new UsageError(
          '--database: expected the name of the application database the pg_cron job writes into (pg_cron runs in cron.database_name and schedules into it); got nothing',
        );
      io.out(heartbeatPgCronSql({ schema, retentionDays, schedule, database }));
      return EXIT.ok;
    }
    if (database !== undefined)
      throw new UsageError(
        '--database: only with --pg-cron (the setup SQL runs in the database you connect to)',
      );
    io.out(heartbeatSetupSql({ schema, retentionDays }));
    return EXIT.ok;
  },
};
