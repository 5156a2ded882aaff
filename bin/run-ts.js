#!/usr/bin/env node
import { resolve } from 'node:path';
// Runs a TypeScript file of this project (benchmarks, scripts) with tsx: `node bin/run-ts.js FILE [ARGS]`.
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bin/run-ts.js FILE.ts [ARGS...]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
