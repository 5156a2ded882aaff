/**
 * Fixtures for the CDK tests: a throw-away app checkout holding the artifacts a stack captures,
 * a valid configuration pointing at it, apps built with bundling on or off, and `bin/app.ts` run as a
 * child process the way `cdk synth` runs it (esbuild is the slow
 * part: template tests skip it, the bundling test keeps it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { expect } from 'vitest';
import { type Config, type ConfigInput, parseConfig } from '../../functions/core/config.ts';
import { SETTINGS_VARIABLE } from '../../functions/core/settings.ts';
import { cdkJsonContext } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/function.ts';

/** Files of a minimal BT-CTS checkout, relative to its root (the config's default app paths). */
export function appFiles(): Record<string, string> {
  return {
    'apps/api/.env.example': 'DATABASE_URL=postgresql://user:secret@localhost:5432/btcts\nPORT=3000\n',
    'apps/api/prisma/schema.prisma':
      'datasource db {\n  provider = "postgresql"\n}\nmodel User {\n  id Int @id\n}\n',
    'apps/api/prisma/migrations/migration_lock.toml': 'provider = "postgresql"\n',
    'apps/api/prisma/migrations/20240101000000_init/migration.sql':
      'CREATE TABLE "User" ("id" INTEGER PRIMARY KEY);\n',
    'apps/api/prisma/migrations/20240201000000_accounts/migration.sql':
      'CREATE TABLE "Account" ("id" INTEGER PRIMARY KEY);\n',
  };
}

/** A temporary folder holding `files`; the caller removes it with {@link removeDir}. */
export function makeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rd-lib-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

type Overrides = {
  [K in keyof ConfigInput]?: ConfigInput[K] extends object ? Partial<ConfigInput[K]> : ConfigInput[K];
};

/** A valid configuration whose `app.repoPath` is `repoPath`; sections in `overrides` are merged. */
export function makeConfig(repoPath: string, overrides: Overrides = {}): Config {
  const base: Record<string, Record<string, unknown> | string> = {
    environment: 'test',
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    notifications: { emails: ['oncall@example.com'] },
    app: { repoPath, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bt-cts-api:1.4.2' },
  };
  for (const [key, value] of Object.entries(overrides)) {
    const current = base[key];
    base[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object'
        ? { ...current, ...(value as Record<string, unknown>) }
        : (value as string);
  }
  return parseConfig(base);
}

/** An App with cdk.json's feature flags; `bundle: false` skips esbuild (templates stay the same). */
export function makeApp({ bundle = false, outdir }: { bundle?: boolean; outdir?: string } = {}): App {
  return new App({
    ...(outdir ? { outdir } : {}),
    context: { ...cdkJsonContext(), ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
}

export const run = promisify(execFile);

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/app.ts` the way `cdk synth` does (a child process), with its own config and output folder. */
export async function synthProcess(configFile: string, outdir: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, RECOVERY_DRILL_CONFIG: configFile, CDK_OUTDIR: outdir },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Writes `value` as JSON to `dir/name` and returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** The error `build` throws, checked to be a `type`; the test fails when nothing is thrown. */
export function refusalOf<E extends Error>(
  type: abstract new (...args: never[]) => E,
  build: () => unknown,
): E {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but nothing was refused`);
}

/** A template value with its tokens as `<LogicalId>` / `<LogicalId.Attribute>` (pseudo parameters by name). */
export function flattenTokens(value: unknown): string {
  if (typeof value === 'string') return value;
  const token = value as Record<string, unknown>;
  if ('Fn::Join' in token) {
    const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
    return parts.map(flattenTokens).join(separator);
  }
  if ('Ref' in token) return `<${String(token.Ref)}>`;
  if ('Fn::GetAtt' in token) return `<${(token['Fn::GetAtt'] as string[]).join('.')}>`;
  throw new Error(`unexpected token ${JSON.stringify(value)}`);
}

/** The settings envelope a function of the template receives (`RECOVERY_DRILL_SETTINGS`), tokens flattened. */
export function settingsOf(fn: { Properties: Record<string, unknown> }): {
  fn: string;
  config: Record<string, Record<string, unknown>>;
  resources: Record<string, unknown>;
} {
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return JSON.parse(flattenTokens(variables[SETTINGS_VARIABLE]));
}
