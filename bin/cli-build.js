#!/usr/bin/env node
/**
 * Builds the CLI (bin/cli.ts and everything it imports) into plain JavaScript under
 * dist/cli/ so that `recovery-drill` starts without compiling TypeScript. Run by `npm ci` /
 * `npm install` (the `prepare` script) and by the launcher when the sources changed.
 *
 * The build never runs stale, by construction:
 * - every project file esbuild reads passes through `onLoad` below, which hashes the very bytes it
 *   hands to esbuild (so a file edited during the build is caught by the next check, never hidden);
 * - the configuration that steers resolution and transformation (package.json, tsconfig.json, this
 *   script, esbuild's version) and the entry names of every folder an input lives in (a new
 *   `x.js` beside `x.ts`, or `x/index.ts` beside `x.ts`, can change what an import resolves to)
 *   are read before the build starts: a change during the build can only make the check fail;
 * - the digest of all of that names the build's folder (dist/cli/<digest>/), whose contents never
 *   change once written; `dist/cli/current.json` (written atomically) names the folder and lists
 *   what to re-read. The launcher (bin/recovery-drill.js) re-reads exactly that, recomputes the
 *   digest and runs the build only if it is equal; otherwise it rebuilds or runs the sources.
 * Packages stay external (resolved by Node from node_modules at run time, as with tsx), so an
 * installed dependency is never stale inside the build; only BUNDLED_PACKAGES are bundled, and
 * their files are inputs like the sources.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository this script belongs to. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The git-ignored folder the builds live in. */
export const BUILD_DIR = 'dist/cli';
/** Bumped when the manifest's shape or the digest's recipe changes: an older manifest is then stale. */
const MANIFEST_VERSION = 1;
/** Builds other than the current one are removed once this old (a long drill may still load chunks of its build). */
const KEEP_OLD_BUILDS_MS = 24 * 60 * 60 * 1000;

/**
 * Packages bundled (and minified) into the build: zod takes 120 ms of CPU to load from its 96 files
 * and 50 ms bundled, on every command that reads the configuration. The rest load only with the
 * command that needs them.
 */
const BUNDLED_PACKAGES = ['zod'];

const LOADERS = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.json': 'json',
};

/**
 * The configuration every build depends on besides the files it bundles (paths from the root).
 * esbuild's own package.json stands for its version.
 */
export const CONFIG_INPUTS = [
  'package.json',
  'tsconfig.json',
  'bin/cli-build.js',
  'node_modules/esbuild/package.json',
];

/** Files that steer how esbuild resolves and transforms a folder's modules (looked up in every ancestor). */
const STEERING = ['package.json', 'tsconfig.json', 'jsconfig.json'];
/** Folders never searched for sources (and never holding a build's input: `onLoad` refuses them). */
const NOT_SOURCES = new Set([
  'node_modules',
  '.git',
  'dist',
  'cdk.out',
  '.recovery-drill',
  'coverage',
  'test-artifacts',
]);

/**
 * The digest of a build's inputs: the manifest version, then each file (path and bytes), then each
 * folder (path and the entry names that matter), in sorted order. The launcher computes the same.
 *
 * The root's own path counts too: the build holds the sources' absolute paths (see `onLoad`).
 *
 * @param {string} root the repository's absolute path
 * @param {Record<string, Buffer | null>} files path (relative, `/`-separated) → bytes, or null when absent
 * @param {Record<string, string[] | null>} dirs path → sorted entry names, or null when absent
 */
function digestOf(root, files, dirs) {
  const hash = createHash('sha256');
  hash.update(`recovery-drill cli build ${MANIFEST_VERSION}\0${root}\0`);
  for (const path of Object.keys(files).sort()) {
    const bytes = files[path];
    hash.update(`file\0${path}\0${bytes === null ? -1 : bytes.length}\0`);
    if (bytes !== null) hash.update(bytes);
  }
  for (const path of Object.keys(dirs).sort()) {
    const names = dirs[path];
    hash.update(`dir\0${path}\0${names === null ? '-' : names.join('\0')}\0`);
  }
  return hash.digest('hex');
}

function readOrNull(path) {
  try {
    return readFileSync(path);
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'EISDIR') return null;
    throw error;
  }
}

/**
 * The entry names of a folder that can change a build: all of them where a build's file lives (a
 * new `x.js` beside `x.ts`, or `x/index.ts` beside `x.ts`, can change what an import resolves to),
 * only the steering files in the folders above. Null when the folder does not exist.
 */
function namesOrNull(path, holdsInputs) {
  let names;
  try {
    names = readdirSync(path).sort();
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw error;
  }
  return holdsInputs ? names : names.filter((name) => STEERING.includes(name));
}

/**
 * What namesOrNull reads of every folder a build may read from, before it starts: the sources under
 * the root and the bundled packages (relative, `/`-separated; the root is `.`).
 */
function listSources(root) {
  const listing = {};
  const walk = (dir) => {
    const absolute = join(root, dir);
    listing[dir] = { all: namesOrNull(absolute, true), steering: namesOrNull(absolute, false) };
    if (listing[dir].all === null) return;
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      if (entry.isDirectory() && !NOT_SOURCES.has(entry.name))
        walk(dir === '.' ? entry.name : `${dir}/${entry.name}`);
    }
  };
  walk('.');
  const modules = join(root, 'node_modules');
  listing.node_modules = { all: namesOrNull(modules, true), steering: namesOrNull(modules, false) };
  for (const name of BUNDLED_PACKAGES) walk(`node_modules/${name}`);
  return listing;
}

/** The folders a build's files make it depend on: `{ path: holdsInputs }`, every ancestor up to the root. */
function foldersOf(paths) {
  const folders = {};
  for (const path of paths) {
    let dir = posixDirname(path);
    folders[dir] = true;
    while (dir !== '.') {
      dir = posixDirname(dir);
      if (!(dir in folders)) folders[dir] = false;
    }
  }
  return folders;
}

function posixDirname(path) {
  const i = path.lastIndexOf('/');
  return i === -1 ? '.' : path.slice(0, i);
}

/**
 * Whether the current build under `root` is exactly what the sources there would build, now.
 * Rereads every file and folder the manifest names and recomputes the digest: a few milliseconds.
 *
 * @param {string} [root]
 * @returns {{ ok: true, entry: string } | { ok: false, why: string }}
 */
export function checkBuild(root = ROOT) {
  const buildRoot = join(root, BUILD_DIR);
  const text = readOrNull(join(buildRoot, 'current.json'));
  if (text === null) return { ok: false, why: 'the CLI has not been built' };
  let manifest;
  try {
    manifest = JSON.parse(text.toString('utf8'));
  } catch {
    return { ok: false, why: `${BUILD_DIR}/current.json is damaged` };
  }
  if (
    manifest?.version !== MANIFEST_VERSION ||
    !Array.isArray(manifest.files) ||
    typeof manifest.dirs !== 'object'
  )
    return { ok: false, why: `${BUILD_DIR}/current.json is from another version of the build` };
  const files = {};
  for (const path of manifest.files) files[path] = readOrNull(join(root, path));
  const dirs = {};
  for (const [path, holdsInputs] of Object.entries(manifest.dirs))
    dirs[path] = namesOrNull(join(root, path), holdsInputs);
  if (digestOf(root, files, dirs) !== manifest.digest)
    return { ok: false, why: 'the sources changed since the CLI was built' };
  if (typeof manifest.build !== 'string' || !/^[0-9a-f]{24}$/.test(manifest.build))
    return { ok: false, why: `${BUILD_DIR}/current.json is damaged` };
  const entry = join(buildRoot, manifest.build, 'cli.js');
  if (!existsSync(entry)) return { ok: false, why: `${BUILD_DIR}/${manifest.build} is missing` };
  return { ok: true, entry };
}

function toPosix(path) {
  return sep === '/' ? path : path.split(sep).join('/');
}

/**
 * Builds the CLI from the sources under `root` into `root/dist/cli/<digest>/` and makes it current.
 * Resolves to the build's folder and digest. Safe to run concurrently: builders of the same sources
 * write the same folder name, and the first complete one wins.
 *
 * @param {{ root?: string }} [options]
 * @returns {Promise<{ dir: string, digest: string, inputs: number }>}
 */
export async function buildCli({ root = ROOT } = {}) {
  const { build } = await import('esbuild');
  const buildRoot = join(root, BUILD_DIR);
  mkdirSync(buildRoot, { recursive: true });

  // Read before the build: a change from here on can only make the launcher's check fail.
  const files = {};
  for (const path of CONFIG_INPUTS) files[path] = readOrNull(join(root, path));
  const listing = listSources(root);

  /** @type {import('esbuild').Plugin} */
  const hashInputs = {
    name: 'recovery-drill-inputs',
    setup(b) {
      // A bare import is a package: external (Node loads it at run time) unless it is bundled.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('@') ? args.path.split('/', 2).join('/') : args.path.split('/')[0];
        return BUNDLED_PACKAGES.includes(name) ? undefined : { external: true };
      });
      b.onLoad({ filter: /.*/, namespace: 'file' }, (args) => {
        const path = toPosix(relative(root, args.path));
        const bundledPackage = BUNDLED_PACKAGES.some((name) => path.startsWith(`node_modules/${name}/`));
        if (path.startsWith('..') || (path.startsWith('node_modules/') && !bundledPackage))
          throw new Error(`the CLI build reads ${args.path}, outside the project's sources`);
        const loader = LOADERS[extname(args.path)];
        if (!loader) throw new Error(`the CLI build cannot load ${path}: unknown file type`);
        const bytes = readFileSync(args.path);
        files[path] = bytes;
        // The build runs where the sources are: paths a module finds beside itself stay the
        // sources' (`define` below points `import.meta.*` at these module-local names). On line
        // 1, so that the source map's lines stay right.
        const text = bytes.toString('utf8');
        const contents = text.includes('import.meta')
          ? `const __rdMetaUrl = ${JSON.stringify(pathToFileURL(args.path).href)}, __rdMetaDirname = ${JSON.stringify(dirname(args.path))}, __rdMetaFilename = ${JSON.stringify(args.path)};${text}`
          : text;
        return { contents, loader, resolveDir: dirname(args.path) };
      });
    },
  };

  const staging = join(buildRoot, `.staging-${process.pid}-${Date.now()}`);
  try {
    await build({
      absWorkingDir: root,
      entryPoints: { cli: join(root, 'bin', 'cli.ts') },
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      minify: true,
      keepNames: true,
      // A symlinked node_modules (a copy of the checkout) stays under the root, where onLoad expects it.
      preserveSymlinks: true,
      sourcemap: 'linked',
      chunkNames: 'chunks/[name]-[hash]',
      plugins: [hashInputs],
      define: {
        'import.meta.url': '__rdMetaUrl',
        'import.meta.dirname': '__rdMetaDirname',
        'import.meta.filename': '__rdMetaFilename',
      },
      logLevel: 'silent',
    });
    const folders = foldersOf(Object.keys(files).filter((path) => !CONFIG_INPUTS.includes(path)));
    const dirs = {};
    for (const [dir, holdsInputs] of Object.entries(folders))
      dirs[dir] = (holdsInputs ? listing[dir]?.all : listing[dir]?.steering) ?? null;
    const digest = digestOf(root, files, dirs);
    const id = digest.slice(0, 24);
    const final = join(buildRoot, id);
    writeFileSync(join(staging, 'package.json'), '{ "type": "module" }\n');
    if (!existsSync(join(final, 'cli.js'))) {
      try {
        renameSync(staging, final);
      } catch (error) {
        // Another builder of the same sources finished first: its folder is identical.
        if (!existsSync(join(final, 'cli.js'))) throw error;
      }
    }
    const manifest = {
      version: MANIFEST_VERSION,
      build: id,
      digest,
      files: Object.keys(files).sort(),
      dirs: Object.fromEntries(
        Object.keys(folders)
          .sort()
          .map((dir) => [dir, folders[dir]]),
      ),
    };
    const temp = join(buildRoot, `.current-${process.pid}-${Date.now()}.json`);
    writeFileSync(temp, `${JSON.stringify(manifest, null, 1)}\n`);
    renameSync(temp, join(buildRoot, 'current.json'));
    removeOldBuilds(buildRoot, id);
    return { dir: final, digest, inputs: manifest.files.length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function removeOldBuilds(buildRoot, keep) {
  const now = Date.now();
  for (const name of readdirSync(buildRoot)) {
    if (name === keep || name === 'current.json') continue;
    const path = join(buildRoot, name);
    try {
      if (now - statSync(path).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another builder removed it first.
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = performance.now();
  const { dir, inputs } = await buildCli();
  process.stdout.write(
    `recovery-drill: built the CLI from ${inputs} files into ${toPosix(relative(ROOT, dir))} in ${Math.round(performance.now() - started)} ms\n`,
  );
}
