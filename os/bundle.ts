import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

/**
 * The init and the node daemon bundled into one ES module run by the image's node binary.
 * Native addons stay external (copied next to it as packages); `require`, `__dirname` and
 * `__filename` are provided for the CommonJS dependencies that use them (zstd-wasm finds its
 * .wasm file next to the bundle).
 */
const ENTRY = fileURLToPath(new URL('./init/main.ts', import.meta.url));

export async function bundleInit(outfile: string): Promise<void> {
  const r = await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    // Whitespace and syntax only: identifiers stay readable in stack traces on the console.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'silent',
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
}
