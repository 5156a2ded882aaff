/**
 * The field types the configuration's sections share: each refuses a bad value with what was
 * expected, in words an operator can act on.
 */
import { z } from 'zod';
import { scheduleExpressionProblem } from '../schedule.ts';

export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
export const ACCOUNT_ID = /^\d{12}$/;
export const DB_IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;
export const SQL_TABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const region = () =>
  z.string().regex(AWS_REGION, { error: 'expected an AWS region such as "eu-west-1"' });

export const relativePath = () =>
  z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), {
      error: 'expected a path relative to app.repoPath, without ".."',
    });

export const urlPath = () =>
  z.string().regex(/^\/[^\s]*$/, { error: 'expected a URL path starting with "/"' });

export const schedule = () =>
  z.string().superRefine((value, ctx) => {
    const problem = scheduleExpressionProblem(value);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `expected an EventBridge schedule expression: ${problem}` });
  });

export const sqlTable = () => z.string().regex(SQL_TABLE, { error: 'expected a SQL table name' });

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envName = () => z.string().regex(ENV_NAME, { error: 'expected an environment variable name' });
/** Names the drill sets itself: a configured value would be silently overridden, so it is refused. */
export const RESERVED_ENV = new Set(['DATABASE_URL', 'PORT']);
export const envVariables = () =>
  z.record(z.string(), z.string()).superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (!ENV_NAME.test(name))
        ctx.addIssue({ code: 'custom', path: [name], message: 'expected an environment variable name' });
      else if (RESERVED_ENV.has(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `${name} is set by the drill itself and cannot be configured`,
        });
    }
  });

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const positiveInt = (max?: number) => {
  const base = z.number().int().positive();
  return max === undefined ? base : base.max(max);
};

/**
 * Where an AWS drill takes its data from (issue 14): `source` (the source instance's own
 * point-in-time recovery), `isolated-region` (point-in-time recovery from the automated backups
 * replicated to `isolation.copyRegion`), `isolated-snapshot` (the newest managed snapshot copy
 * there). Each runs in the region of its data.
 */
export const AWS_DRILL_FROM = ['source', 'isolated-region', 'isolated-snapshot'] as const;

/** One of {@link AWS_DRILL_FROM}. */
export const drillFrom = () => z.enum(AWS_DRILL_FROM);
