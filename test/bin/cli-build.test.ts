import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The launcher runs the built CLI only when it is what the sources build now. Proven on a copy of
// the sources (the repository itself is never edited): each case changes the copy and looks at
// what `recovery-drill --help` prints and whether the build was made again.
const REPO = resolve(import.meta.dirname, '..', '..');
const SUMMARY = 'Print, as JSON, which snapshots a prune run would delete';

let copy: string;

function launch(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const argv = args.length > 0 ? args : ['--help'];
  const result = spawnSync(process.execPath, [join(copy, 'bin', 'recovery-drill.js'), ...argv], {
    cwd: copy,
    env: { PATH: process.env.PATH ?? '', HOME: copy },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function manifest(): { build: string; digest: string } {
  return JSON.parse(readFileSync(join(copy, 'dist', 'cli', 'current.json'), 'utf8'));
}

function builtEntry(): string {
  return join(copy, 'dist', 'cli', manifest().build, 'cli.js');
}

/** Marks the current build's output, so a run shows whether it came from this build. */
function markBuild(): void {
  const dir = join(copy, 'dist', 'cli', manifest().build);
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  const texts = files.map((f) => readFileSync(join(dir, f), 'utf8'));
  if (texts.some((text) => text.includes('FROM THE BUILD'))) return; // an earlier case marked it
  const holder = files.find((_, i) => texts[i]?.includes(SUMMARY));
  expect(holder).toBeDefined();
  const file = join(dir, holder as string);
  writeFileSync(file, readFileSync(file, 'utf8').replace(SUMMARY, 'FROM THE BUILD'));
}

function edit(path: string, change: (text: string) => string): void {
  const file = join(copy, path);
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'recovery-drill-cli-build-'));
  for (const entry of ['bin', 'functions', 'lib', 'package.json', 'tsconfig.json'])
    cpSync(join(REPO, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('the built CLI', () => {
  it('builds on first use, then runs the build as long as the sources are unchanged', {
    timeout: 240_000,
  }, () => {
    const first = launch();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(SUMMARY);
    const built = manifest();

    markBuild();
    const second = launch();
    expect(second.stdout).toContain('FROM THE BUILD');
    expect(second.stderr).toBe('');
    expect(manifest()).toEqual(built);

    // A new modification time alone (a checkout, `touch`) changes nothing: only bytes count.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(copy, 'bin', 'commands', 'index.ts'), later, later);
    expect(launch().stdout).toContain('FROM THE BUILD');
  });

  it('never runs a build older than the sources: an edit makes the next start rebuild', {
    timeout: 240_000,
  }, () => {
    launch();
    markBuild();
    const before = manifest();
    edit('bin/commands/index.ts', (text) => text.replace(SUMMARY, 'EDITED SUMMARY'));
    const run = launch();
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('EDITED SUMMARY');
    expect(run.stdout).not.toContain('FROM THE BUILD');
    expect(manifest().digest).not.toBe(before.digest);
    edit('bin/commands/index.ts', (text) => text.replace('EDITED SUMMARY', SUMMARY));
  });

  it('compares bytes, not times: an edit of the same size with the old time restored is seen', {
    timeout: 240_000,
  }, () => {
    launch();
    markBuild();
    // A module the entry imports, not the catalog: every input counts, not only the first.
    const path = join(copy, 'lib', 'names.ts');
    const { atime, mtime } = statSync(path);
    const text = readFileSync(path, 'utf8');
    const changed = text.replace("'RecoveryDrillStack'", "'RecoveryDrillStacX'");
    expect(changed.length).toBe(text.length);
    writeFileSync(path, changed);
    utimesSync(path, atime, mtime);
    const run = launch('start', '--help');
    expect(run.stdout).toContain('of RecoveryDrillStacX');
    expect(run.stdout).not.toContain('FROM THE BUILD');
    writeFileSync(path, text);
  });

  it('rebuilds when a folder of the build gains a file (it could change what an import resolves to)', {
    timeout: 240_000,
  }, () => {
    launch();
    markBuild();
    const before = manifest();
    writeFileSync(join(copy, 'bin', 'commands', 'types.js'), 'export {};\n');
    const run = launch();
    expect(run.stdout).not.toContain('FROM THE BUILD');
    expect(manifest().digest).not.toBe(before.digest);
    rmSync(join(copy, 'bin', 'commands', 'types.js'));
  });

  it('runs the sources, saying so in one line, when a stale build cannot be rebuilt', {
    timeout: 240_000,
  }, () => {
    launch();
    edit('bin/commands/index.ts', (text) => text.replace(SUMMARY, 'UNBUILT SUMMARY'));
    // No folder can be made for the new build: `dist` is a file now.
    rmSync(join(copy, 'dist'), { recursive: true, force: true });
    writeFileSync(join(copy, 'dist'), 'not a folder\n');
    const run = launch();
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('UNBUILT SUMMARY');
    const notice = run.stderr.trim().split('\n');
    expect(notice).toHaveLength(1);
    expect(notice[0]).toMatch(
      /^recovery-drill: the CLI has not been built and rebuilding it failed \(.+\); running the TypeScript sources instead \(slower start\)$/,
    );
    rmSync(join(copy, 'dist'));
    edit('bin/commands/index.ts', (text) => text.replace('UNBUILT SUMMARY', SUMMARY));
  });

  it('starts `--help` without loading any package: every command is imported when it runs', {
    timeout: 240_000,
  }, () => {
    execFileSync(process.execPath, [join(copy, 'bin', 'cli-build.js')], { cwd: copy, encoding: 'utf8' });
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // Static imports only (`import(...)` is what runs a command).
      for (const match of text.matchAll(
        /(?:^|[;\s}])(?:import|export)\s*(?:[\w${}\s,*]+?\s*from\s*)?"([^"]+)"/g,
      )) {
        const specifier = match[1] as string;
        if (specifier.startsWith('.')) visit(resolve(file, '..', specifier));
        else if (!specifier.startsWith('node:')) packages.add(specifier);
      }
    };
    visit(builtEntry());
    expect(seen.size).toBeGreaterThan(1);
    expect([...packages]).toEqual([]);
  });
});
