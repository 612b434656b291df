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
