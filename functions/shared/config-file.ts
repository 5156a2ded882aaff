/**
 * Finds and reads the configuration file. Precedence: an explicit path (`--config FILE`), then the
 * `RECOVERY_DRILL_CONFIG` environment variable, then `recovery-drill.config.json` in the working
 * directory (the repository root).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Config, ConfigError, parseConfig } from '../core/config.ts';

export const DEFAULT_CONFIG_FILE = 'recovery-drill.config.json';

export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of the file read. */
  readonly path: string;
  /** Folder relative paths in the configuration (app.repoPath, local.stateDir) are resolved against. */
  readonly baseDir: string;
}

export interface ConfigLocation {
  readonly explicitPath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function resolveConfigPath({
  explicitPath,
  env = process.env,
  cwd = process.cwd(),
}: ConfigLocation = {}): {
  path: string;
  origin: string;
} {
  if (explicitPath) return { path: resolve(cwd, explicitPath), origin: '--config' };
  const fromEnv = env.RECOVERY_DRILL_CONFIG;
  if (fromEnv) return { path: resolve(cwd, fromEnv), origin: 'RECOVERY_DRILL_CONFIG' };
  return { path: resolve(cwd, DEFAULT_CONFIG_FILE), origin: 'default location' };
}

/**
 * Reads, parses and validates the configuration.
 * @throws ConfigError when the file is missing, is not JSON, or holds invalid settings.
 */
export function loadConfig(location: ConfigLocation = {}): LoadedConfig {
  const { path, origin } = resolveConfigPath(location);
  if (!existsSync(path)) {
    throw new ConfigError(
      [{ path: '(file)', value: JSON.stringify(path), expected: `a configuration file (from ${origin})` }],
      path,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      [{ path: '(file)', value: JSON.stringify(path), expected: `valid JSON: ${(error as Error).message}` }],
      path,
      { cause: error },
    );
  }
  return { config: parseConfig(document, path), path, baseDir: dirname(path) };
}
