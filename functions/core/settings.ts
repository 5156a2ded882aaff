/**
 * The one channel that carries settings from the stack to a Lambda function: the configuration
 * validated at synth (`parseConfig`), cut to the sections the function reads, and the names of the
 * resources the stack created for it, in one environment variable ({@link SETTINGS_VARIABLE}).
 *
 * `lib/` encodes at synth; each function decodes once at cold start. The configuration was validated
 * in full when it was loaded, so decoding does not run the schema again (zod would add some 800 KB
 * to each bundle): it checks the envelope's version, a fingerprint of the slice's shape (a function
 * built from other sources than the stack that encoded it is refused), and that every field of the
 * slice is there with the right kind. An error names the config path (`targets.rpoMinutes`) or the
 * resource, and the value.
 *
 * The table it carries (each function's sections and resources, every field's kind) is
 * `settings-spec.ts`. Pure: only types are imported from `config.ts`, so the schema is never bundled.
 */
import {
  CONFIG_SHAPE,
  type ConfigSlice,
  FUNCTION_SETTINGS,
  type FunctionSettings,
  type FunctionSettingsSpec,
  type Kind,
  type ResourceKind,
  type SettingsFunction,
  type SettingsResources,
} from './settings-spec.ts';

export type {
  ConfigSlice,
  DrillConfig,
  FunctionSettings,
  SettingsFunction,
  SettingsResources,
} from './settings-spec.ts';

/** The one environment variable every function reads its settings from. */
export const SETTINGS_VARIABLE = 'RECOVERY_DRILL_SETTINGS';
/** Bumped when the envelope itself changes (not the configuration: its shape is fingerprinted). */
export const SETTINGS_VERSION = 1;

/** The variable is missing or does not hold what this function's code expects. */
export class SettingsError extends Error {
  /** Each problem, naming the config path or the resource. */
  readonly problems: readonly string[];

  constructor(fn: string, problems: readonly string[], options?: ErrorOptions) {
    super(
      `invalid ${SETTINGS_VARIABLE} for the ${fn} function (redeploy the stack, or encode it with lib/): ${problems.join('; ')}`,
      options,
    );
    this.name = 'SettingsError';
    this.problems = problems;
  }
}

/** FNV-1a over the text, as 8 hex digits: cheap enough for every cold start. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** Identifies the slice's shape: sections, their fields and kinds, and the resources. */
export function settingsFingerprint(fn: SettingsFunction): string {
  const spec: FunctionSettingsSpec = FUNCTION_SETTINGS[fn];
  const shape = spec.sections.map((s) => [s, CONFIG_SHAPE[s]]);
  return fnv1a(JSON.stringify([SETTINGS_VERSION, fn, shape, spec.resources]));
}

/** The envelope as JSON-ready data (the stack stringifies it with its tokens). */
export interface SettingsEnvelope {
  readonly v: number;
  readonly fn: SettingsFunction;
  readonly fingerprint: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly resources: Readonly<Record<string, unknown>>;
}

/**
 * The envelope for one function: its sections of the (already validated) configuration and the
 * resources it is given. Values that only exist at deploy time (CDK tokens) may be passed: the
 * stack serializes the envelope with `Stack.toJsonString`.
 */
export function settingsEnvelope<F extends SettingsFunction>(
  fn: F,
  config: ConfigSlice<F>,
  resources: { readonly [R in keyof SettingsResources<F>]: unknown },
): SettingsEnvelope {
  const spec: FunctionSettingsSpec = FUNCTION_SETTINGS[fn];
  const slice: Record<string, unknown> = {};
  for (const section of spec.sections) slice[section] = (config as Record<string, unknown>)[section];
  // `app.env` is the local engine's (it may hold the app's secrets): it never reaches a function.
  // `app.repoPath` is the synth machine's checkout (no function reads it: the artifacts travel in
  // the bundle); carried, it would name a home folder and change the template per machine.
  if (isObject(slice.app)) slice.app = { ...slice.app, env: {}, repoPath: '.' };
  const carried: Record<string, unknown> = {};
  for (const name of Object.keys(spec.resources))
    carried[name] = (resources as Record<string, unknown>)[name];
  return { v: SETTINGS_VERSION, fn, fingerprint: settingsFingerprint(fn), config: slice, resources: carried };
}

/** The envelope as the variable's text, for values known in full (tests, a hand run). */
export function encodeSettings<F extends SettingsFunction>(
  fn: F,
  config: ConfigSlice<F>,
  resources: SettingsResources<F>,
): string {
  return JSON.stringify(settingsEnvelope(fn, config, resources));
}

function kindProblem(kind: Kind | ResourceKind, value: unknown): string | null {
  const ok =
    kind === 'string'
      ? typeof value === 'string'
      : kind === 'number'
        ? typeof value === 'number' && Number.isFinite(value)
        : kind === 'boolean'
          ? typeof value === 'boolean'
          : kind === 'string?'
            ? value === null || typeof value === 'string'
            : kind === 'string[]'
              ? Array.isArray(value) && value.every((item) => typeof item === 'string')
              : kind === 'object'
                ? typeof value === 'object' && value !== null
                : value === null || typeof value === 'object';
  if (ok) return null;
  const expected = kind.endsWith('?')
    ? `${kind.slice(0, -1)} or null`
    : kind === 'string[]'
      ? 'a list of strings'
      : `a ${kind}`;
  return `expected ${expected}; got ${value === undefined ? 'nothing' : JSON.stringify(value)}`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads the variable once at cold start.
 * @throws SettingsError naming every problem (a missing variable, another version or function,
 *   a fingerprint of other sources, a config path or resource with the wrong kind).
 */
export function decodeSettings<F extends SettingsFunction>(
  fn: F,
  env: Readonly<Record<string, string | undefined>>,
): FunctionSettings<F> {
  const text = env[SETTINGS_VARIABLE];
  if (text === undefined || text === '') throw new SettingsError(fn, [`${SETTINGS_VARIABLE} is not set`]);
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (error) {
    throw new SettingsError(fn, [`not JSON: ${(error as Error).message}`], { cause: error });
  }
  if (!isObject(envelope)) throw new SettingsError(fn, ['expected a JSON object']);
  const header: string[] = [];
  if (envelope.v !== SETTINGS_VERSION)
    header.push(`version ${JSON.stringify(envelope.v)}, expected ${SETTINGS_VERSION}`);
  if (envelope.fn !== fn) header.push(`encoded for ${JSON.stringify(envelope.fn)}, not ${fn}`);
  else if (envelope.fingerprint !== settingsFingerprint(fn))
    header.push(
      `fingerprint ${JSON.stringify(envelope.fingerprint)}, expected ${settingsFingerprint(fn)}: the stack and this function were built from different sources`,
    );
  if (header.length > 0) throw new SettingsError(fn, header);

  const spec: FunctionSettingsSpec = FUNCTION_SETTINGS[fn];
  const problems: string[] = [];
  const config = isObject(envelope.config) ? envelope.config : {};
  for (const section of spec.sections) {
    const shape = CONFIG_SHAPE[section];
    const value = config[section];
    if (typeof shape === 'string') {
      const problem = kindProblem(shape, value);
      if (problem) problems.push(`${section}: ${problem}`);
      continue;
    }
    if (!isObject(value)) {
      problems.push(
        `${section}: expected an object; got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
      );
      continue;
    }
    for (const [field, kind] of Object.entries(shape as Record<string, Kind>)) {
      const problem = kindProblem(kind, value[field]);
      if (problem) problems.push(`${section}.${field}: ${problem}`);
    }
  }
  const resources = isObject(envelope.resources) ? envelope.resources : {};
  for (const [name, kind] of Object.entries(spec.resources)) {
    const value = resources[name];
    const problem = kindProblem(kind, value) ?? (value === '' ? 'expected a name; got ""' : null);
    if (problem) problems.push(`resource ${name}: ${problem}`);
  }
  if (problems.length > 0) throw new SettingsError(fn, problems);
  return {
    config: config as unknown as ConfigSlice<F>,
    resources: resources as unknown as SettingsResources<F>,
  };
}
