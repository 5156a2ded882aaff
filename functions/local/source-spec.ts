/**
 * What a configuration asks of the local source: the app checkout it names, the app's own migrate
 * and seed commands for a source of kind `app`, and the application database's name.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import { type AppSourceSpec, DEFAULT_DATABASE } from './source.ts';

/** The app checkout a configuration names, absolute (relative paths are the config file's folder's). */
export function appRoot(config: Config, baseDir: string): string {
  return resolve(baseDir, config.app.repoPath);
}

/** What `local.source` of kind `app` asks for, resolved; null for the example's built-in source. */
export function appSourceSpec(config: Config, baseDir: string): AppSourceSpec | null {
  const source = config.local.source;
  if (source.kind !== 'app') return null;
  return {
    repoPath: appRoot(config, baseDir),
    migrateCommand: config.app.migrateCommand,
    seedCommand: source.seedCommand,
    trafficCommand: source.trafficCommand,
    env: { ...config.app.env, ...source.env },
    adminUsername: config.smoke.adminUsername,
    adminUsernameEnv: config.smoke.adminUsernameEnv,
    adminPasswordEnv: config.smoke.adminPasswordEnv,
  };
}

/**
 * The application database's name: the one in the `DATABASE_URL` of the app's environment
 * template (`app.envExample`), as the app's own docs set it up, else `btcts`.
 */
export function databaseOf(repoPath: string, config: Config): string {
  let text: string;
  try {
    text = readFileSync(join(repoPath, config.app.envExample), 'utf8');
  } catch {
    return DEFAULT_DATABASE;
  }
  const line = /^\s*DATABASE_URL\s*=\s*["']?([^"'\s#]+)/m.exec(text)?.[1];
  if (!line) return DEFAULT_DATABASE;
  try {
    const name = decodeURIComponent(new URL(line).pathname.replace(/^\//, ''));
    return /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name) ? name : DEFAULT_DATABASE;
  } catch {
    return DEFAULT_DATABASE;
  }
}
