import { describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../functions/core/config.ts';
import {
  decodeSettings,
  encodeSettings,
  SETTINGS_VARIABLE,
  SettingsError,
  settingsEnvelope,
  settingsFingerprint,
} from '../../functions/core/settings.ts';
import { DRILL_SECTIONS } from '../../functions/core/settings-spec.ts';

function config(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    environment: 'production',
    source: { dbInstanceIdentifier: 'btcts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    targets: { rpoMinutes: 0.5 },
    ...overrides,
  });
}

const rpoResources = () => ({
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:escalations',
  stateTable: 'state',
});

/** The variable's text with one part of the envelope replaced. */
type Envelope = {
  v: number;
  fingerprint: string;
  config: { source: Record<string, unknown>; targets: Record<string, unknown> };
  resources: Record<string, unknown>;
};

function tampered(edit: (envelope: Envelope) => void): Record<string, string> {
  const envelope = JSON.parse(encodeSettings('rpoMonitor', config(), rpoResources())) as Envelope;
  edit(envelope);
  return { [SETTINGS_VARIABLE]: JSON.stringify(envelope) };
}

function problemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as SettingsError).problems;
  }
  throw new Error('expected a SettingsError, but the settings were accepted');
}

/** The drill function's resources, as the stack would give them (names only). */
const DRILL_RESOURCES = {
  bucket: 'b',
  topicArn: 't',
  drillSecretArn: 's',
  dbSubnetGroupName: 'g',
  dbSecurityGroupIds: [],
  clusterArn: null,
  taskDefinitionArn: null,
  appSubnetIds: [],
  appSecurityGroupIds: [],
  logGroupName: null,
  stateTable: null,
  drillRegion: null,
  artifactsBucket: null,
};

describe('settings codec', () => {
  it('carries a function exactly its sections of the validated configuration, fractions and all', () => {
    const decoded = decodeSettings('rpoMonitor', {
      [SETTINGS_VARIABLE]: encodeSettings('rpoMonitor', config(), rpoResources()),
    });
    expect(Object.keys(decoded.config).sort()).toEqual(['environment', 'isolation', 'source', 'targets']);
    expect(decoded.config.targets).toEqual({ rpoMinutes: 0.5, rtoMinutes: 30 });
    expect(decoded.resources).toEqual(rpoResources());
  });

  it('leaves out of the drill what only the local engine and the backups read', () => {
    const envelope = settingsEnvelope('drill', config(), {
      ...DRILL_RESOURCES,
      dbSecurityGroupIds: ['sg-1'],
    });
    expect(Object.keys(envelope.config)).toEqual([...DRILL_SECTIONS]);
    expect(envelope.config).not.toHaveProperty('local');
    expect(envelope.config).not.toHaveProperty('retention');
  });

  it('never carries app.env (local only, it may hold the app secrets) to a function', () => {
    const withSecret = config({ app: { env: { SESSION_SECRET: 'local-session-secret-42' } } });
    expect(withSecret.app.env).toEqual({ SESSION_SECRET: 'local-session-secret-42' });
    const text = JSON.stringify(settingsEnvelope('drill', withSecret, DRILL_RESOURCES));
    expect(text).not.toContain('local-session-secret-42');
    expect(JSON.parse(text).config.app.env).toEqual({});
  });

  it("never carries the synth machine's checkout path (app.repoPath) to a function", () => {
    const fromHome = config({ app: { repoPath: '/home/oncall/src/bt-cts' } });
    const text = JSON.stringify(settingsEnvelope('drill', fromHome, DRILL_RESOURCES));
    expect(text).not.toContain('/home/oncall');
    expect(JSON.parse(text).config.app.repoPath).toBe('.');
    expect(JSON.parse(text).config.app.migrationsDir).toBe(fromHome.app.migrationsDir);
  });

  it('names the config path and the value of a field of the wrong kind', () => {
    const problems = problemsOf(() =>
      decodeSettings(
        'rpoMonitor',
        tampered((e) => {
          e.config.targets.rpoMinutes = 'sixty';
          delete e.config.source.region;
        }),
      ),
    );
    expect(problems).toEqual([
      'source.region: expected a string; got nothing',
      'targets.rpoMinutes: expected a number; got "sixty"',
    ]);
  });

  it('names a missing or empty resource', () => {
    const problems = problemsOf(() =>
      decodeSettings(
        'rpoMonitor',
        tampered((e) => {
          e.resources.stateTable = '';
          delete e.resources.topicArn;
        }),
      ),
    );
    expect(problems).toEqual([
      'resource topicArn: expected a string; got nothing',
      'resource stateTable: expected a name; got ""',
    ]);
  });

  it('refuses settings encoded for another function, another version or other sources', () => {
    const env = { [SETTINGS_VARIABLE]: encodeSettings('rpoMonitor', config(), rpoResources()) };
    expect(problemsOf(() => decodeSettings('prune', env))).toEqual(['encoded for "rpoMonitor", not prune']);
    expect(
      problemsOf(() =>
        decodeSettings(
          'rpoMonitor',
          tampered((e) => (e.v = 2)),
        ),
      ),
    ).toEqual(['version 2, expected 1']);
    const [stale] = problemsOf(() =>
      decodeSettings(
        'rpoMonitor',
        tampered((e) => (e.fingerprint = '0')),
      ),
    );
    expect(stale).toContain('built from different sources');
  });

  it('says the variable is missing or not JSON', () => {
    expect(problemsOf(() => decodeSettings('heartbeat', {}))).toEqual([`${SETTINGS_VARIABLE} is not set`]);
    expect(problemsOf(() => decodeSettings('heartbeat', { [SETTINGS_VARIABLE]: '{' }))[0]).toMatch(
      /^not JSON/,
    );
    expect(() => decodeSettings('heartbeat', {})).toThrow(
      `invalid ${SETTINGS_VARIABLE} for the heartbeat function`,
    );
  });

  it('fingerprints each function by its own slice', () => {
    expect(settingsFingerprint('prune')).not.toBe(settingsFingerprint('rpoMonitor'));
    expect(settingsFingerprint('prune')).toBe(settingsFingerprint('prune'));
  });
});
