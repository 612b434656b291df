import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { HASH, quietly, registerNode, startChain, type ChainEnv } from './client-fixtures.ts';

/**
 * The unmodified official npm client (@threefold/tfchain_client 2.9.2, its CommonJS build)
 * against the devnet: the compatibility acceptance flow of the tfchain reference.
 */

// Its CommonJS @polkadot copy loads next to our ESM one; that is expected here, not a version clash.
process.env.POLKADOTJS_DISABLE_ESM_CJS_WARNING = '1';
const require = createRequire(import.meta.url);
const fromClient = createRequire(require.resolve('@threefold/tfchain_client'));
// The client's own dependencies, resolved as it resolves them.
const { Client } = require('@threefold/tfchain_client') as { Client: new (o: { url: string; mnemonicOrSecret: string; keypairType?: string }) => any };
const { InsufficientBalanceError } = fromClient('@threefold/types') as { InsufficientBalanceError: new (...a: unknown[]) => Error };

let env: ChainEnv | null = null;
let url = '';
let nodeId = 0;
const official: any[] = [];

before(async () => {
  env = await startChain();
  url = env.url;
  // A node for the contracts, registered with our client as a separate (ed25519) account.
  ({ nodeId } = await registerNode(env.client, 'official_client_farm'));
});

after(async () => {
  for (const c of official) await c.disconnect().catch(() => {});
  await env?.close();
});

function ready(_t: TestContext): boolean {
  return env !== null;
}

async function officialClient(secret: string): Promise<any> {
  const c = new Client({ url, mnemonicOrSecret: secret });
  official.push(c);
  await c.connect();
  return c;
}

test('official client: T&C -> createTwin -> getMyTwinId -> batchAll(createNodeContract) -> by hash -> duplicate -> cancel', { timeout: 60_000 }, async (t) => {
  if (!ready(t)) return;
  await quietly(async () => {
    const c = await officialClient('//Dave');
    await (await c.termsAndConditions.accept({ documentLink: 'https://library.threefold.me/info/legal/', documentHash: 'garbage' })).apply();
    const twin = await (await c.twins.create({ relay: 'relay.dev.grid.tf', pk: null })).apply();
    assert.equal(typeof twin.id, 'number');
    const twinId = await c.twins.getMyTwinId();
    assert.equal(twinId, twin.id);
    assert.equal((await c.twins.get({ id: twinId })).relay, 'relay.dev.grid.tf');

    const created = await c.applyAllExtrinsics([await c.contracts.createNode({ nodeId, hash: HASH, data: '{"v":1}', numberOfPublicIps: 0 })]);
    assert.equal(created.length, 1);
    const contract = created[0];
    assert.equal(contract.twinId, twinId);
    assert.equal(contract.contractType.nodeContract.deploymentHash, HASH);

    const id = await c.contracts.getContractIdByNodeIdAndHash({ nodeId, hash: HASH });
    assert.equal(id, contract.contractId);
    assert.equal((await c.contracts.get({ id })).contractType.nodeContract.nodeId, nodeId);
    // Our client reads what the official one wrote.
    assert.equal(await env!.client.query.contractIdByNodeAndHash(nodeId, HASH), id);

    const dup = await c
      .applyAllExtrinsics([await c.contracts.createNode({ nodeId, hash: HASH, data: '', numberOfPublicIps: 0 })])
      .catch((e: unknown) => e);
    assert.equal(dup?.keyError, 'ContractIsNotUnique', String(dup));
    assert.equal(dup?.section, 'smartContractModule');

    const canceled = await (await c.contracts.cancel({ id })).apply();
    assert.equal(canceled, id);
    assert.equal(await c.contracts.get({ id }), null);
    assert.equal(await env!.client.query.contract(id), null);
  });
});

test('official client: an unfunded account gets InsufficientBalanceError', { timeout: 60_000 }, async (t) => {
  if (!ready(t)) return;
  await quietly(async () => {
    const c = await officialClient(mnemonicGenerate());
    const err = await (await c.termsAndConditions.accept({ documentLink: 'https://example.com/t', documentHash: 'garbage' }))
      .apply()
      .catch((e: unknown) => e);
    assert.ok(err instanceof InsufficientBalanceError, `got ${err?.constructor?.name}: ${err?.message}`);
  });
});

test('official client: createTwin without T&C fails with UserDidNotSignTermsAndConditions', { timeout: 60_000 }, async (t) => {
  if (!ready(t)) return;
  await quietly(async () => {
    const c = await officialClient('//Eve');
    const err = await (await c.twins.create({ relay: null, pk: null })).apply().catch((e: unknown) => e);
    assert.equal(err?.keyError, 'UserDidNotSignTermsAndConditions', String(err));
    assert.equal(err?.section, 'tfgridModule');
  });
});
