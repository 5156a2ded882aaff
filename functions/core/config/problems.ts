/**
 * Configuration problems as an operator reads them: the dotted path they wrote, the value found and
 * what was expected; every problem at once.
 */
import type { z } from 'zod';

/** One problem in a configuration, with enough to fix it without reading the code. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `targets.rpoMinutes`. */
  readonly path: string;
  /** The value found, as JSON (`undefined` when the field was missing). */
  readonly value: string;
  /** What was expected. */
  readonly expected: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source = 'configuration', options?: ErrorOptions) {
    super(
      `${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p.path}: ${p.expected}; got ${p.value}`)
        .join('\n')}`,
      options,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, '');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing (the field is required)';
  const json = JSON.stringify(value);
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}

export function issueProblems(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({
          path: formatPath([...path, key]),
          value: show(valueAt(input, [...issue.path, key])),
          expected: 'no such setting (unknown keys are refused so that a typo never falls back to a default)',
        });
      }
      continue;
    }
    problems.push({
      path: formatPath(path),
      value: show(valueAt(input, issue.path)),
      expected: issue.message,
    });
  }
  return problems;
}
