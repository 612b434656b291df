// The compiled CLI: plain JavaScript in dist/cli/, transpiled once (by .ci/setup or `npm run build`)
// so `zos` does not compile TypeScript at every start. dist/cli/SOURCES holds a hash of the
// sources it was built from; `compiledEntry()` returns the entry only while that hash still
// matches, so an edited checkout runs its TypeScript sources instead of a stale build.
// Plain .mjs (not TypeScript) because it decides whether the TypeScript loader is needed at all.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Folders compiled into dist/cli: every top-level one but tests and benchmarks (they keep running from TypeScript). */
const SKIP = new Set(['test', 'bench', 'node_modules', 'dist', 'examples']);
const DIRS = readdirSync(ROOT, { withFileTypes: true })
  .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name))
  .map((e) => e.name);
const OUT = join(ROOT, 'dist', 'cli');
const STAMP = 'SOURCES';

function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of DIRS) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return out.sort();
}

/** Besides the sources, the build depends on the dependency versions (vendor/) and on this file. */
function buildInputs(files) {
  return [...files, join(ROOT, 'package-lock.json'), fileURLToPath(import.meta.url)];
}

/** Hash over every source file's path and content (content, not mtime: a checkout or copy can keep old mtimes). */
export function sourceHash(files = sourceFiles()) {
  const h = createHash('sha256');
  for (const f of buildInputs(files)) {
    h.update(relative(ROOT, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

/** file:// URL of the compiled bin/zos.js when dist/cli matches the sources, else null. */
export function compiledEntry() {
  let stamp;
  try {
    stamp = readFileSync(join(OUT, STAMP), 'utf8').trim();
  } catch {
    return null;
  }
  return stamp === sourceHash() ? pathToFileURL(join(OUT, 'bin', 'zos.js')).href : null;
}

/**
 * Dependencies left in node_modules: native addons, packages that load files or worker
 * scripts next to their own code, and CommonJS ones that gain nothing from bundling (pg, whose
 * only export is its default: vendor/ re-exports named exports only).
 * Every other package is pre-bundled into vendor/ (ESM, shared chunks): loading @polkadot/api
 * or zod from a few files instead of hundreds is most of a cold start.
 */
const EXTERNAL = new Set(['ws', 'better-sqlite3', '@polkadot-labs/schnorrkel-wasm', 'pino', 'pino-pretty', 'ioredis', '@napi-rs/blake-hash', 'zstd-napi', 'cli-progress', 'esbuild', 'tsx', 'pg']);
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
const vendorName = (spec) => spec.replace(/[^A-Za-z0-9_-]/g, '_');

/** Transpiles every source file (no bundling: same tree, same module graph) and swaps dist/cli in atomically. */
export async function build({ force = false } = {}) {
  const files = sourceFiles();
  const hash = sourceHash(files);
  if (!force && existsSync(join(OUT, STAMP)) && readFileSync(join(OUT, STAMP), 'utf8').trim() === hash) return { built: false, files: files.length };
  const { build: esbuild } = await import('esbuild');
  const tmp = `${OUT}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const vendored = new Set();
  // Bundle mode only so the plugin sees every import: each one is marked external (nothing is
  // inlined; one output file per source file) with its path rewritten: ./x.ts -> ./x.js, a
  // vendored package -> its file in vendor/.
  await esbuild({
    entryPoints: files,
    outbase: ROOT,
    outdir: tmp,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
    plugins: [{
      name: 'zos-imports',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (a) => {
          if (a.kind === 'entry-point') return undefined;
          const spec = a.path;
          if (spec.startsWith('.')) return { path: spec.replace(/\.ts$/, '.js'), external: true };
          if (spec.startsWith('node:') || EXTERNAL.has(packageOf(spec))) return { path: spec, external: true };
          vendored.add(spec);
          const rel = relative(join(tmp, relative(ROOT, dirname(a.importer))), join(tmp, 'vendor', `${vendorName(spec)}.js`));
          return { path: rel.startsWith('.') ? rel : `./${rel}`, external: true };
        });
      },
    }],
  });
  await bundleVendor(esbuild, [...vendored], join(tmp, 'vendor'));
  writeFileSync(join(tmp, STAMP), `${hash}\n`);
  const old = `${OUT}.old-${process.pid}`;
  if (existsSync(OUT)) renameSync(OUT, old);
  renameSync(tmp, OUT);
  rmSync(old, { recursive: true, force: true });
  return { built: true, files: files.length };
}

/** One ESM module per vendored specifier; code they share lands in common chunks (one instance of each package). */
async function bundleVendor(esbuild, specs, outdir) {
  if (specs.length === 0) return;
  const NS = 'zos-vendor';
  const ZOD_NO_LOCALES = 'zos-zod-no-locales';
  await esbuild({
    entryPoints: Object.fromEntries(specs.map((s) => [vendorName(s), `${NS}:${s}`])),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    absWorkingDir: ROOT,
    external: [...EXTERNAL, 'bufferutil', 'utf-8-validate'],
    // Bundled CommonJS code may still call require() for Node built-ins.
    banner: { js: "import { createRequire as __zosRequire } from 'node:module'; const require = __zosRequire(import.meta.url);" },
    logLevel: 'error',
    plugins: [{
      name: NS,
      setup(b) {
        b.onResolve({ filter: new RegExp(`^${NS}:`) }, (a) => ({ path: a.path.slice(NS.length + 1), namespace: NS }));
        // Named exports, listed from the package as Node loads it: `export *` would drop the
        // names of a CommonJS entry (yaml). No vendored package is imported by its default export.
        b.onLoad({ filter: /.*/, namespace: NS }, async (a) => {
          const names = Object.keys(await import(a.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
          return { contents: `export { ${names.join(', ')} } from ${JSON.stringify(a.path)};`, resolveDir: ROOT, loader: 'js' };
        });
        // zod's `z.locales` namespace (error messages in ~50 languages) is left out: every
        // daemon loads zod, the locales were half of its bundle (~1.5 MB of a node's resident
        // memory, issue 16), and nothing here calls z.config(z.locales.xx()). English, zod's
        // default, is imported on its own and stays.
        b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) => (/[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: a.path, namespace: ZOD_NO_LOCALES } : undefined));
        b.onLoad({ filter: /.*/, namespace: ZOD_NO_LOCALES }, () => ({ contents: 'export {};', loader: 'js' }));
      },
    }],
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = Date.now();
  const r = await build({ force: process.argv.includes('--force') });
  console.error(`[build] dist/cli: ${r.built ? `compiled ${r.files} files in ${Date.now() - t0} ms` : 'up to date'}`);
}
