/**
 * The settings channel's table (`settings.ts` carries it): the kind of every configuration field,
 * and for each function the sections of the configuration and the resources it is given. Only
 * the table and the types derived from it live here; encoding and decoding are in `settings.ts`.
 *
 * Pure: only types are imported from `config.ts`, so the schema is never bundled.
 */
import type { Config } from './config.ts';

/** Kinds a field may have; `?` admits null. Objects are checked to be objects, not field by field. */
export type Kind = 'string' | 'number' | 'boolean' | 'string?' | 'string[]' | 'object' | 'object?';

type KindOf<V> = [V] extends [string]
  ? 'string'
  : [V] extends [number]
    ? 'number'
    : [V] extends [boolean]
      ? 'boolean'
      : [V] extends [string | null]
        ? 'string?'
        : [V] extends [readonly string[]]
          ? 'string[]'
          : [V] extends [object]
            ? 'object'
            : 'object?';

/** A section's shape: every field, with its kind. The compiler keeps it in step with the schema. */
type SectionShape<T> = { readonly [K in keyof T]-?: KindOf<T[K]> };
type ConfigShape = {
  readonly [S in keyof Config]-?: Config[S] extends string ? 'string' : SectionShape<Config[S]>;
};

/**
 * The kind of every configuration field, derived from the schema's type: a field added to
 * `config.ts` does not compile until it is listed here, so no field is ever carried unchecked.
 */
export const CONFIG_SHAPE: ConfigShape = {
  environment: 'string',
  source: { dbInstanceIdentifier: 'string', region: 'string', network: 'object?', kmsKeyArn: 'string?' },
  isolation: {
    copyRegion: 'string',
    copyAccountId: 'string?',
    sourceAccountId: 'string?',
    copyKmsKeyArn: 'string?',
    exportToS3: 'boolean',
    pitrReplication: 'boolean',
  },
  targets: { rpoMinutes: 'number', rtoMinutes: 'number' },
  retention: { daily: 'number', monthly: 'number', maxDeletionsPerRun: 'number', dryRun: 'boolean' },
  schedules: {
    snapshot: 'string',
    rpoCheck: 'string',
    prune: 'string',
    drill: 'string',
    drillFrom: 'string[]',
    timezone: 'string',
  },
  backupBucket: {
    objectLockMode: 'string',
    objectLockDays: 'number',
    noncurrentVersionExpirationDays: 'number',
  },
  notifications: { emails: 'string[]', slack: 'object?', webhookUrl: 'string?' },
  app: {
    repoPath: 'string',
    envExample: 'string',
    migrationsDir: 'string',
    schema: 'string',
    migrateCommand: 'string',
    startCommand: 'string',
    env: 'object',
    image: 'string?',
    port: 'number',
    stagingBaseUrl: 'string?',
    user: 'string',
  },
  smoke: {
    healthPath: 'string',
    readyPath: 'string',
    loginPath: 'string',
    accountSearchPath: 'string',
    dayCurrentPath: 'string',
    recoveryEvaluatePath: 'string',
    readyBudgetSeconds: 'number',
    adminUsername: 'string',
    auth: 'object',
    sessionCheckPath: 'string?',
    adminUsernameEnv: 'string',
    adminPasswordEnv: 'string',
    adminPasswordSecret: 'string?',
    accountSearchTerm: 'string',
    accountSearchMinResults: 'number',
    sessionTable: 'string',
    accountSearchTable: 'string',
    dayStateTable: 'string',
  },
  integrity: { criticalTables: 'string[]', timestampColumn: 'string' },
  drill: {
    instancePrefix: 'string',
    instanceClass: 'string',
    from: 'string',
    timeoutMinutes: 'number',
    restoreTimeoutMinutes: 'number',
    hardenContainers: 'boolean',
    network: 'object?',
  },
  heartbeat: {
    mode: 'string',
    schedule: 'string',
    retentionDays: 'number',
    secretName: 'string?',
    schema: 'string',
  },
  local: {
    stateDir: 'string',
    isolatedDir: 'string?',
    archiveTimeoutSeconds: 'number',
    backupMaxAgeHours: 'number',
    source: 'object',
    retention: 'object',
  },
};

/** A resource the stack created, by name: a plain string, an optional one, or a list. */
export type ResourceKind = 'string' | 'string?' | 'string[]';
type ResourceValue<K extends ResourceKind> = K extends 'string'
  ? string
  : K extends 'string?'
    ? string | null
    : string[];

/** What one function receives: sections of the configuration, and resources by name. */
export interface FunctionSettingsSpec {
  readonly sections: readonly (keyof Config)[];
  readonly resources: Readonly<Record<string, ResourceKind>>;
}

const backupResources = { topicArn: 'string', stateTable: 'string' } as const;

/** Sections of the configuration the drill's step functions read in AWS (no local engine, no retention). */
export const DRILL_SECTIONS = [
  'environment',
  'source',
  'isolation',
  'targets',
  'schedules',
  'app',
  'smoke',
  'integrity',
  'drill',
  'heartbeat',
] as const;

/** What the drill's step functions are given besides the configuration. */
const drillResources = {
  bucket: 'string',
  topicArn: 'string',
  drillSecretArn: 'string',
  dbSubnetGroupName: 'string',
  dbSecurityGroupIds: 'string[]',
  /** The app's ECS task: null when the configuration smoke-tests `app.stagingBaseUrl`. */
  clusterArn: 'string?',
  taskDefinitionArn: 'string?',
  appSubnetIds: 'string[]',
  appSecurityGroupIds: 'string[]',
  /** The state machine's log group, linked from notifications (null for a hand run). */
  logGroupName: 'string?',
  /** Drill escalations fold into incidents here (null: no folding). */
  stateTable: 'string?',
  /**
   * The region the drill runs in: its instance, secret, cluster and artifacts (null: the source
   * region). A drill from the isolated copy runs in `isolation.copyRegion`, the region of its data;
   * its reports, topic and state table stay in the source region.
   */
  drillRegion: 'string?',
  /** Where the checks read the captured artifacts, in the drill's region (null: `bucket`). */
  artifactsBucket: 'string?',
} as const;

/**
 * Every function's slice: what it may read. A construct encodes exactly this, the function
 * decodes exactly this: a section a function does not list never reaches it.
 */
export const FUNCTION_SETTINGS = {
  snapshot: {
    sections: ['environment', 'source', 'isolation'],
    resources: {
      ...backupResources,
      /** The copy key (or alias) ARN: the configured one, or the isolation stack's alias. */
      copyKmsKeyArn: 'string',
      bucket: 'string',
      exportRoleArn: 'string',
      exportKmsKeyArn: 'string',
      artifactsVersion: 'string',
    },
  },
  artifacts: {
    sections: ['environment', 'source', 'isolation'],
    resources: { ...backupResources, bucket: 'string', artifactsVersion: 'string' },
  },
  prune: {
    sections: ['environment', 'source', 'isolation', 'retention'],
    resources: { ...backupResources, bucket: 'string' },
  },
  rpoMonitor: {
    sections: ['environment', 'source', 'isolation', 'targets'],
    resources: backupResources,
  },
  heartbeat: { sections: ['environment', 'source', 'heartbeat'], resources: {} },
  /** Runs in the copy account: copies what the source account shares into snapshots it owns. */
  isolatedCopies: {
    sections: ['environment', 'source', 'isolation', 'retention'],
    resources: {
      /** The copy account's own topic (its failures are told there, not in the source account). */
      topicArn: 'string',
      /** The copy account's own key: its copies are encrypted with it. */
      kmsKeyArn: 'string',
    },
  },
  drill: { sections: DRILL_SECTIONS, resources: drillResources },
  drillStart: {
    sections: ['source', 'isolation', 'schedules', 'drill'],
    resources: {
      /** The drill state machine in the source region (drills from the source). */
      stateMachineArn: 'string',
      /** The one in `isolation.copyRegion` (drills from the isolated copy); null: the same region. */
      copyRegionStateMachineArn: 'string?',
    },
  },
  /** Cleans up after a drill execution that ended badly: the drill's resources and its machine. */
  drillAbortCleanup: {
    sections: DRILL_SECTIONS,
    resources: {
      ...drillResources,
      /** Only this machine's executions are cleaned up after. */
      stateMachineArn: 'string',
    },
  },
} as const satisfies Record<string, FunctionSettingsSpec>;

/** The functions that receive settings. */
export type SettingsFunction = keyof typeof FUNCTION_SETTINGS;

type Spec<F extends SettingsFunction> = (typeof FUNCTION_SETTINGS)[F];
/** The configuration a function receives: the sections it lists, as the schema types them. */
export type ConfigSlice<F extends SettingsFunction> = Pick<Config, Spec<F>['sections'][number]>;
/** The resources a function receives. */
export type SettingsResources<F extends SettingsFunction> = {
  -readonly [R in keyof Spec<F>['resources']]: Spec<F>['resources'][R] extends ResourceKind
    ? ResourceValue<Spec<F>['resources'][R]>
    : never;
};

/** What a function decodes at cold start. */
export interface FunctionSettings<F extends SettingsFunction> {
  readonly config: ConfigSlice<F>;
  readonly resources: SettingsResources<F>;
}

/** The configuration the drill's step functions run with (`DRILL_SECTIONS`). */
export type DrillConfig = ConfigSlice<'drill'>;
