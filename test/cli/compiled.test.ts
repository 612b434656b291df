import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const DIST = fileURLToPath(new URL('../../dist/cli', import.meta.url));

/**
 * The CLI and daemons run from dist/cli, where packages are re-bundled into vendor/ with named
 * exports only: an import that works from the TypeScript sources can fail there (pg's default
 * export once broke `zos up` while every source-level test passed). Every compiled module is
 * loaded in a child process, except the entry points that act when loaded (bin/zos, the OS init)
 * and the worker modules (they talk to a parent thread).
 */
test('compiled CLI: every module in dist/cli loads (its imports of vendor/ and of node_modules resolve)', { timeout: 120_000 }, async () => {
  await execa(process.execPath, [fileURLToPath(new URL('../../bin/compiled.mjs', import.meta.url))]); // builds when stale
  const script = `
    import { readdirSync } from 'node:fs';
    import { join } from 'node:path';
    import { pathToFileURL } from 'node:url';
    const files = [];
    const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name);
      if (e.isDirectory()) { if (e.name !== 'vendor') walk(p); } else if (e.name.endsWith('.js')) files.push(p); } };
    walk(${JSON.stringify(DIST)});
    const acts = (f) => /\\/bin\\/zos\\.js$|\\/os\\/init\\/|-worker\\.js$/.test(f);
    const failed = [];
    for (const f of files.filter((f) => !acts(f))) await import(pathToFileURL(f).href).catch((e) => failed.push(f + ': ' + e.message));
    console.log(JSON.stringify({ loaded: files.length, failed }));
    process.exit(0);`;
  const r = await execa(process.execPath, ['--input-type=module', '-e', script], { timeout: 100_000 });
  const { loaded, failed } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { loaded: number; failed: string[] };
  assert.ok(loaded > 100, `only ${loaded} modules in ${DIST}`);
  assert.deepEqual(failed, []);
});
