import { basename, dirname, join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT, repoPath } from '../lib/paths.ts';

/**
 * The init and the node daemon bundled into one ES module run by the image's node binary.
 * Native addons stay external (copied next to it as packages); `require`, `__dirname` and
 * `__filename` are provided for the CommonJS dependencies that use them.
 */
// From the TypeScript sources, also when the CLI runs compiled from dist/cli.
const ENTRY = repoPath('os', 'init', 'main.ts');

/**
 * Modules the daemon runs on worker threads (lib/workers.ts), each found at run time next to the
 * code that starts it as `new URL('./NAME.ts', import.meta.url)`, whose .js twin the pool loads:
 * bundled beside init.mjs as NAME.js, an ES module (usr/lib/zos/package.json says "module"; os/stage.ts).
 */
/** Native addons of the napi-rs kind (a loader package and one package per platform), left external and copied by os/stage.ts. */
export const NAPI_PACKAGES = ['@napi-rs/blake-hash'] as const;
/** Native addons built at install by node-gyp (their loader and build/Release/*.node), left external and copied by os/stage.ts. */
export const GYP_PACKAGES = ['better-sqlite3', 'zstd-napi', 'zos-native'] as const;

export const WORKER_MODULES = ['rmb/verify-worker.ts', 'image/worker.ts'] as const;

/** Bundles the init and the worker modules; returns the repo-relative source files they contain (the daemon's import graph). */
export async function bundleInit(outfile: string): Promise<string[]> {
  const inputs = new Set(await bundle(ENTRY, outfile));
  for (const w of WORKER_MODULES) for (const f of await bundle(repoPath(w), join(dirname(outfile), `${basename(w, '.ts')}.js`))) inputs.add(f);
  return [...inputs].sort();
}

async function bundle(entry: string, outfile: string): Promise<string[]> {
  const r = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...GYP_PACKAGES, ...NAPI_PACKAGES],
    // Whitespace and syntax only: identifiers stay readable in stack traces on the console.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    absWorkingDir: REPO_ROOT,
    banner: {
      js: [
        '#!/usr/bin/node',
        "import { createRequire as __zosRequire } from 'node:module';",
        "import { fileURLToPath as __zosPath } from 'node:url';",
        'const require = __zosRequire(import.meta.url);',
        'const __filename = __zosPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join('\n'),
    },
  });
  if (r.errors.length > 0) throw new Error(`esbuild: ${r.errors.map((e) => e.text).join('; ')}`);
  return Object.keys(r.metafile!.inputs).filter((f) => f.endsWith('.ts') && !f.startsWith('node_modules/'));
}
