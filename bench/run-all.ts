/**
 * `npm run bench`: every benchmark, one after the other (each starts and stops what it needs).
 * The local-restore and drill benchmarks build a source of about 1 GB: expect several minutes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const runner = join(here, '..', 'bin', 'run-ts.js');
const benches = readdirSync(here)
  .filter((name) => name.endsWith('.ts') && name !== 'run-all.ts')
  .sort();
let failed = 0;
for (const name of benches) {
  process.stdout.write(`\n## bench/${name}\n\n`);
  const result = spawnSync(process.execPath, [runner, join(here, name)], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exitCode = failed === 0 ? 0 : 1;
