#!/usr/bin/env node
// The `recovery-drill` command. The project is TypeScript run by tsx, so there is no build step
// between a checkout and a drill.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
const code = await main(process.argv.slice(2));
// A drill stopped by SIGINT/SIGTERM has cleaned up and reported: what it abandoned must not keep
// the process alive.
if (code === 130 || code === 143) process.exit(code);
process.exitCode = code;
