#!/usr/bin/env node
// The `recovery-drill` command. The project is TypeScript run by tsx, so there is no build step
// between a checkout and a drill.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
