/**
 * The local engine: where it keeps its clusters, backups and WAL, and which database plays production.
 */
import { z } from 'zod';
import { envVariables, positiveInt } from './fields.ts';

/** Sections of the configuration, as fields of its root object. */
export const localSections = {
  local: z
    .strictObject({
      /** Where the local engine keeps clusters, backups, WAL and reports (relative to the config file). */
      stateDir: z.string().min(1).default('.recovery-drill'),
      /**
       * The isolated copy (issue 14): a second repository, like pgBackRest's second repo, that
       * receives every archived WAL segment and every backup too, so that `drill --local --from
       * isolated` can prove it alone restores. Relative to the config file like `stateDir`; null
       * (the default) puts it beside the state folder, as `<stateDir>-isolated`. Never inside the
       * state folder nor around it: losing one must not lose the other.
       */
      isolatedDir: z.string().min(1).nullable().default(null),
      /** Bounds the local RPO, as RDS's 5-minute log upload does in AWS. */
      archiveTimeoutSeconds: positiveInt(3600).default(60),
      /** A local drill takes a fresh backup first when the newest is older than this. */
      backupMaxAgeHours: positiveInt(24 * 35).default(24),
      /**
       * The database that plays production locally: `"example"` (the example app's schema, seed and
       * trickle writer), or your own app: an empty cluster, then `app.migrateCommand` and
       * `seedCommand` in `app.repoPath`, and `trafficCommand` (if any) writing while the source runs.
       */
      source: z
        .preprocess(
          // `"example"` is shorthand for `{ "kind": "example" }`.
          (value) => (value === 'example' ? { kind: 'example' } : value),
          z.discriminatedUnion('kind', [
            z.strictObject({ kind: z.literal('example') }),
            z.strictObject({
              kind: z.literal('app'),
              seedCommand: z.string().min(1),
              /** Extra environment for the seed and traffic commands (beside `app.env`). */
              env: envVariables().default({}),
              trafficCommand: z.string().min(1).nullable().default(null),
            }),
          ]),
        )
        .default({ kind: 'example' }),
      /** Local backups kept by the project's retention planner; archived WAL older than the oldest kept backup is removed. */
      retention: z
        .strictObject({
          daily: positiveInt(3650).default(7),
          monthly: z.number().int().min(0).max(1200).default(0),
        })
        .prefault({}),
    })
    .prefault({}),
};
