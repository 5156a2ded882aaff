#!/usr/bin/env node
// The `recovery-drill` command. It runs the JavaScript that `npm ci` (the `prepare` script) built
// from the sources into dist/cli/, and only when that build is exactly what the sources build now:
// bin/cli-build.js rereads every file and folder the build came from and compares their digest.
// A stale or missing build is rebuilt first (well under a second); if that fails, the TypeScript
// sources run through tsx (a slower start), and stderr says so in one line.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCli, checkBuild } from './cli-build.js';

async function loadCli() {
  const check = checkBuild();
  if (check.ok) return import(pathToFileURL(check.entry).href);
  try {
    const { dir } = await buildCli();
    return await import(pathToFileURL(join(dir, 'cli.js')).href);
  } catch (error) {
    process.stderr.write(
      `recovery-drill: ${check.why} and rebuilding it failed (${error instanceof Error ? error.message : error}); running the TypeScript sources instead (slower start)\n`,
    );
    const { register } = await import('tsx/esm/api');
    register();
    return import('./cli.ts');
  }
}

// The build's source maps point a stack at the TypeScript lines; only `--debug` prints stacks.
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
const { main } = await loadCli();
const code = await main(process.argv.slice(2));
// A drill stopped by SIGINT/SIGTERM has cleaned up and reported: what it abandoned must not keep
// the process alive.
if (code === 130 || code === 143) process.exit(code);
process.exitCode = code;
