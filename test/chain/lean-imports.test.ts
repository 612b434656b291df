import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Metafile } from 'esbuild';
import { repoPath } from '../../lib/paths.ts';

/**
 * The node, the relay and the CLI's chain commands never load @polkadot/api or @polkadot/types
 * (together ~80 MB resident): the import graph from each entry point, static and dynamic
 * imports alike, reaches neither; the node and relay load the keyring and @polkadot/util-crypto
 * (~10 MB) only when given a mnemonic. The devnet and the tests may use them.
 */

const ENTRIES = ['bin/commands/node.ts', 'bin/commands/relay.ts', 'bin/commands/deploy.ts', 'bin/commands/deployments.ts', 'bin/commands/node-stats.ts'];
const HEAVY = /^@polkadot\/(api|types|rpc-provider|rpc-core|api-derive|api-base)(\/|$)/;

async function importGraph(entry: string): Promise<Metafile> {
  const out = await build({
    entryPoints: [repoPath(entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  return out.metafile;
}

for (const entry of ENTRIES) {
  test(`lean imports: ${entry} reaches no @polkadot/api or @polkadot/types`, async () => {
    const meta = await importGraph(entry);
    const modules = Object.keys(meta.inputs);
    const heavy = Object.entries(meta.inputs).flatMap(([file, input]) => input.imports.filter((i) => HEAVY.test(i.path)).map((i) => `${file} -> ${i.path} (${i.kind})`));
    assert.deepEqual(heavy, []);
    assert.ok(modules.some((m) => m.includes('chain/client/')), `${entry} does reach the chain client (${modules.length} modules)`);
  });
}

for (const entry of ['bin/commands/node.ts', 'bin/commands/relay.ts']) {
  test(`lean imports: ${entry} loads the keyring and @polkadot/util(-crypto) only for a mnemonic (dynamic imports)`, async () => {
    const meta = await importGraph(entry);
    const eager = Object.entries(meta.inputs).flatMap(([file, input]) =>
      input.imports.filter((i) => /^@polkadot\/(keyring|util|util-crypto)(\/|$)/.test(i.path) && i.kind !== 'dynamic-import').map((i) => `${file} -> ${i.path}`),
    );
    assert.deepEqual(eager, []);
  });
}

test('lean imports: the check sees a heavy import where there is one (the devnet)', async () => {
  const meta = await importGraph('bin/commands/devnet.ts');
  assert.ok(Object.values(meta.inputs).some((input) => input.imports.some((i) => HEAVY.test(i.path))));
});

/**
 * What an idle `zos node` loads (issue 16, memory): bin/zos.ts imports only the named command's
 * modules (bin/commands/node.ts), whose action imports node/node.ts; the modules these reach
 * through static imports load at start.
 * Image code (the store, hashing and zstd addons, execa) loads with a node's first VM, and
 * execa not at all: host commands run on node:child_process. The YAML library loads with the first full VM (its cloud-init disk).
 */
const IDLE_ONLY_ON_DEMAND = [/^image\//, /^node\/primitives\/zmachine\/flist\.ts$/, /^bin\/commands\/(?!node)/];
const IDLE_NO_PACKAGES = /^(execa|cli-progress|@napi-rs\/blake-hash|zstd-napi|yaml)(\/|$)/;

function staticClosure(metas: Metafile[], entries: string[]): { files: Set<string>; packages: Set<string> } {
  const inputs = Object.assign({}, ...metas.map((m) => m.inputs)) as Metafile['inputs'];
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (files.has(f)) continue;
    files.add(f);
    for (const i of inputs[f]?.imports ?? []) {
      if (i.kind !== 'import-statement') continue;
      if (i.external) packages.add(i.path);
      else todo.push(i.path);
    }
  }
  return { files, packages };
}

test('lean imports: an idle zos node loads no image code, no execa and no other command (they load on demand)', async () => {
  const entries = ['bin/zos.ts', 'bin/commands/node.ts', 'node/node.ts'];
  const { files, packages } = staticClosure(await Promise.all(entries.map(importGraph)), entries);
  assert.ok(files.has('node/host/storage/index.ts') && files.size > 100, `the graph is the node's (${files.size} modules)`);
  assert.deepEqual([...files].filter((f) => IDLE_ONLY_ON_DEMAND.some((r) => r.test(f))), []);
  assert.deepEqual([...packages].filter((p) => IDLE_NO_PACKAGES.test(p)), []);
  // ... and the image code is still reachable (loaded with the first VM).
  const all = await importGraph('node/node.ts');
  assert.ok(Object.keys(all.inputs).some((f) => f.startsWith('image/')));
});
