import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The type checker and the linter (which also forbids focused/skipped tests and AWS imports in
// functions/core) are part of the suite, so a green `npm test` means the whole project is sound.
function run(command: string, args: string[]): { status: number; output: string } {
  try {
    const output = execFileSync(command, args, { encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, output };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, output: `${e.stdout}\n${e.stderr}` };
  }
}

describe('project', () => {
  it('type-checks with strict settings', { timeout: 180_000 }, () => {
    const result = run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
    expect(result.output.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes the linter and formatter', { timeout: 120_000 }, () => {
    const result = run('npx', ['biome', 'check', '--error-on-warnings', '.']);
    expect(result.status, result.output).toBe(0);
  });
});
