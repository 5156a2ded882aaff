/**
 * Validation of a drill's input (design.md, drill step 1). A drill that would restore to the wrong
 * moment is worse than no drill: it creates an instance, costs an hour and proves nothing. So a
 * malformed or out-of-range request is refused before anything is created, with every problem
 * named at once.
 */
import { type InputProblem, InputProblemsError } from './errors.ts';
import { ISO_WITH_ZONE_EXPECTED, MS_PER_DAY, parseIsoWithZone, toIsoUtc } from './time.ts';

/** RDS keeps at most 35 days of point-in-time recovery; older targets cannot be restored. */
export const MAX_TARGET_AGE_DAYS = 35;
/** Bound of `reason`: it lands in notifications, tags and reports. */
export const MAX_REASON_LENGTH = 200;
/** Bound of `requestedBy`: a person or a schedule's name, not a paragraph. */
export const MAX_REQUESTED_BY_LENGTH = 100;

/**
 * Where a drill's data comes from (issue 14): `source` restores the source's own backups (today's
 * drill); the others prove that the isolated copy alone suffices after the source is lost. AWS:
 * `isolated-region` (point-in-time recovery from the automated backups replicated to the copy
 * region), `isolated-snapshot` (the newest copied snapshot). Locally: `isolated` (the second
 * repository in `local.isolatedDir`). Recorded in the report and said in its title, because an
 * auditor's first question is "have you restored from the isolated copy?".
 */
export type DrillFrom = 'source' | 'isolated-region' | 'isolated-snapshot' | 'isolated';

/** The engine a drill runs in: each restores from its own kinds of copies. */
export type DrillEngine = 'local' | 'aws';

/** The origins each engine can restore from; anything else is refused naming `from`. */
export const DRILL_FROM_BY_ENGINE: Readonly<Record<DrillEngine, readonly DrillFrom[]>> = {
  local: ['source', 'isolated'],
  aws: ['source', 'isolated-region', 'isolated-snapshot'],
};

/** Each origin in words, for reports, messages and the CLI's history. */
const FROM_WORDS: Readonly<Record<DrillFrom, string>> = {
  source: 'the source',
  isolated: 'the isolated copy',
  'isolated-region': "the isolated region's replicated backups",
  'isolated-snapshot': 'the isolated snapshot copy',
};

/** Where the data came from, in words ("the isolated copy"). */
export function describeFrom(from: DrillFrom): string {
  return FROM_WORDS[from];
}

/**
 * The phrase a title carries: ` (from the isolated copy)`; empty for the source, so the titles of
 * today's drills (and the mail rules matching them) stay as they are.
 */
export function fromInTitle(from: DrillFrom | null | undefined): string {
  return !from || from === 'source' ? '' : ` (from ${describeFrom(from)})`;
}

/** A drill request after validation: defaults filled in, the target time in UTC. */
export interface DrillInput {
  /** `latest` or an ISO-8601 UTC time ending in `Z`. */
  targetTime: 'latest' | string;
  reason: string | null;
  requestedBy: string | null;
  dryRun: boolean;
  /** Where the data comes from (default `source`), one of the engine's `DRILL_FROM_BY_ENGINE`. */
  from: DrillFrom;
}

/** The restorable window of the source when known (RDS `EarliestRestorableTime` / `LatestRestorableTime`). */
export interface RestorableWindow {
  earliest: Date | null;
  latest: Date | null;
}

/**
 * Why a restore cannot reach `target` within `window`, as the expectation an error names; null when
 * it can. The one rule for the drill's input and for both engines: a target before the earliest
 * restorable time or after the latest is refused. A bound nobody knows refuses nothing, unless the
 * engine needs the latest to prove the target's commits are kept (`notes.latestRequired`, named
 * when it is unknown). `notes.earliest`/`notes.latest` say, in brackets, what the bound is.
 */
export function outsideWindow(
  target: Date,
  window: RestorableWindow,
  notes: { readonly earliest?: string; readonly latest?: string; readonly latestRequired?: string } = {},
): string | null {
  const ms = target.getTime();
  const note = (text: string | undefined) => (text ? ` (${text})` : '');
  if (window.earliest && ms < window.earliest.getTime())
    return `a time at or after the earliest restorable time ${toIsoUtc(window.earliest.getTime())}${note(notes.earliest)}`;
  if (!window.latest) return notes.latestRequired ?? null;
  if (ms > window.latest.getTime())
    return `a time at or before the latest restorable time ${toIsoUtc(window.latest.getTime())}${note(notes.latest)}; use "latest" for it`;
  return null;
}

/** Every problem of one drill request. The state machine catches it by name and creates nothing. */
export class DrillInputError extends InputProblemsError {
  /** The name the state machine's `Catch` and the local engine match a refused input on. */
  static override readonly errorName = 'DrillInputError';
  declare readonly problems: { field: string; value: unknown; expected: string }[];

  constructor(problems: InputProblem[], options?: ErrorOptions) {
    super('drill input', problems, options);
    this.name = DrillInputError.errorName;
  }
}

const KEYS = ['targetTime', 'reason', 'requestedBy', 'dryRun', 'from'] as const;
// Control characters (C0, DEL, C1) and the line/paragraph separators: they break one-line logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NOT_PRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

function boundedText(
  field: string,
  value: unknown,
  max: number,
  problems: InputProblem[],
): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    problems.push({ field, value, expected: `a string of at most ${max} printable characters, or null` });
    return undefined;
  }
  const text = value.trim();
  if ([...text].length > max) {
    problems.push({ field, value, expected: `at most ${max} characters (got ${[...text].length})` });
    return undefined;
  }
  if (NOT_PRINTABLE.test(text)) {
    problems.push({
      field,
      value,
      expected: 'printable characters only (no control characters or line breaks)',
    });
    return undefined;
  }
  return text === '' ? null : text;
}

/**
 * Validates and normalizes a drill request.
 * @param context.now the clock (injected so tests and the state machine agree on "now").
 * @param context.engine the engine that will run the drill: it decides which `from` values exist.
 * @param context.window the restorable window of the data the drill restores (the source's, or
 *   the isolated copy's for a drill from it), when the caller has looked it up.
 * @returns the input with defaults filled in and `targetTime` as `latest` or UTC `…Z`.
 * @throws DrillInputError listing every problem, each with field, value and expectation.
 */
export function validateDrillInput(
  raw: unknown,
  context: { now: Date; engine: DrillEngine; window?: RestorableWindow },
): DrillInput {
  const problems: InputProblem[] = [];
  const source: Record<string, unknown> =
    raw === undefined || raw === null ? {} : typeof raw === 'object' && !Array.isArray(raw) ? { ...raw } : {};
  if (!(raw === undefined || raw === null || (typeof raw === 'object' && !Array.isArray(raw)))) {
    problems.push({
      field: '(input)',
      value: raw,
      expected: 'an object { targetTime?, reason?, requestedBy?, dryRun?, from? } or nothing',
    });
  }
  for (const key of Object.keys(source)) {
    if (!(KEYS as readonly string[]).includes(key))
      problems.push({
        field: key,
        value: source[key],
        expected: `no such field (expected one of ${KEYS.join(', ')})`,
      });
  }

  let targetTime: string | undefined = 'latest';
  const rawTarget = source.targetTime;
  if (rawTarget !== undefined && rawTarget !== null && rawTarget !== 'latest') {
    targetTime = undefined;
    const ms = parseIsoWithZone(rawTarget);
    const nowMs = context.now.getTime();
    if (ms === null) {
      problems.push({
        field: 'targetTime',
        value: rawTarget,
        expected: `"latest" or ${ISO_WITH_ZONE_EXPECTED}`,
      });
    } else if (ms > nowMs) {
      problems.push({
        field: 'targetTime',
        value: rawTarget,
        expected: `a time not in the future (now is ${toIsoUtc(nowMs)}); use "latest" for the newest restorable time`,
      });
    } else if (nowMs - ms > MAX_TARGET_AGE_DAYS * MS_PER_DAY) {
      problems.push({
        field: 'targetTime',
        value: rawTarget,
        expected: `a time at most ${MAX_TARGET_AGE_DAYS} days back (not before ${toIsoUtc(nowMs - MAX_TARGET_AGE_DAYS * MS_PER_DAY)}): point-in-time recovery keeps no more`,
      });
    } else {
      const outside = context.window ? outsideWindow(new Date(ms), context.window) : null;
      if (outside) problems.push({ field: 'targetTime', value: rawTarget, expected: outside });
      else targetTime = toIsoUtc(ms);
    }
  }

  const reason = boundedText('reason', source.reason, MAX_REASON_LENGTH, problems);
  const requestedBy = boundedText('requestedBy', source.requestedBy, MAX_REQUESTED_BY_LENGTH, problems);

  let dryRun = false;
  if (source.dryRun !== undefined && source.dryRun !== null) {
    if (typeof source.dryRun === 'boolean') dryRun = source.dryRun;
    else problems.push({ field: 'dryRun', value: source.dryRun, expected: 'true or false (a JSON boolean)' });
  }

  let from: DrillFrom = 'source';
  if (source.from !== undefined && source.from !== null) {
    const allowed = DRILL_FROM_BY_ENGINE[context.engine];
    if (typeof source.from === 'string' && (allowed as readonly string[]).includes(source.from))
      from = source.from as DrillFrom;
    else
      problems.push({
        field: 'from',
        value: source.from,
        expected: `one of ${allowed.map((f) => `"${f}"`).join(', ')} (where the ${context.engine} engine's drill takes its data from)`,
      });
  }

  if (problems.length > 0) throw new DrillInputError(problems);
  return {
    targetTime: targetTime as string,
    reason: reason ?? null,
    requestedBy: requestedBy ?? null,
    dryRun,
    from,
  };
}
