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

/** A drill request after validation: defaults filled in, the target time in UTC. */
export interface DrillInput {
  /** `latest` or an ISO-8601 UTC time ending in `Z`. */
  targetTime: 'latest' | string;
  reason: string | null;
  requestedBy: string | null;
  dryRun: boolean;
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

const KEYS = ['targetTime', 'reason', 'requestedBy', 'dryRun'] as const;
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
 * @param context.window the source's restorable window, when the caller has looked it up.
 * @returns the input with defaults filled in and `targetTime` as `latest` or UTC `…Z`.
 * @throws DrillInputError listing every problem, each with field, value and expectation.
 */
export function validateDrillInput(
  raw: unknown,
  context: { now: Date; window?: RestorableWindow },
): DrillInput {
  const problems: InputProblem[] = [];
  const source: Record<string, unknown> =
    raw === undefined || raw === null ? {} : typeof raw === 'object' && !Array.isArray(raw) ? { ...raw } : {};
  if (!(raw === undefined || raw === null || (typeof raw === 'object' && !Array.isArray(raw)))) {
    problems.push({
      field: '(input)',
      value: raw,
      expected: 'an object { targetTime?, reason?, requestedBy?, dryRun? } or nothing',
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

  if (problems.length > 0) throw new DrillInputError(problems);
  return {
    targetTime: targetTime as string,
    reason: reason ?? null,
    requestedBy: requestedBy ?? null,
    dryRun,
  };
}
