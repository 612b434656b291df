import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { silentLogger } from '../../lib/log.ts';
import { connectChain, type ChainClient } from '../../chain/client/connection.ts';
import { loadDevnet, quietly, registerNode, type DevnetLike } from './client-fixtures.ts';
import { HASH_A, HASH_B } from './smart-contract-fixtures.ts';

/** SmartContractModule through the unmodified official client (@threefold/tfchain_client 2.9.2) on a live devnet. */

process.env.POLKADOTJS_DISABLE_ESM_CJS_WARNING = '1';
const require = createRequire(import.meta.url);
const { Client } = require('@threefold/tfchain_client') as { Client: new (o: { url: string; mnemonicOrSecret: string }) => any };

let devnet: DevnetLike | null = null;
let ours: ChainClient | null = null;
let url = '';
let client: any = null;
const nodes: number[] = [];

before(async () => {
  const mod = await loadDevnet();
  devnet = new mod.Devnet({ port: 0 });
  url = await devnet.start();
  ours = connectChain({ urls: [url], logger: silentLogger() });
  await ours.start();
  for (const farm of ['sc_client_farm_a', 'sc_client_farm_b']) nodes.push((await registerNode(ours, farm)).nodeId);
  client = new Client({ url, mnemonicOrSecret: '//Ferdie' });
  await client.connect();
  await quietly(async () => {
    await (await client.termsAndConditions.accept({ documentLink: 'https://library.threefold.me/info/legal/', documentHash: 'garbage' })).apply();
    await (await client.twins.create({ relay: 'relay.dev.grid.tf', pk: null })).apply();
  });
});

after(async () => {
  await client?.disconnect().catch(() => {});
  await ours?.close();
  await devnet?.close();
});

const ready = (_t: TestContext): boolean => devnet !== null;

test('official client: batchAll [createNameContract, createNodeContract x2] returns the three contracts; cancel returns each id', { timeout: 60_000 }, async (t) => {
  if (!ready(t)) return;
  await quietly(async () => {
    const [node] = nodes;
    const created = await client.applyAllExtrinsics([
      await client.contracts.createName({ name: 'clientgw' }),
      await client.contracts.createNode({ nodeId: node, hash: HASH_A, data: 'a', numberOfPublicIps: 0 }),
      await client.contracts.createNode({ nodeId: node, hash: HASH_B, data: 'b', numberOfPublicIps: 0 }),
    ]);
    assert.equal(created.length, 3);
    assert.equal(created[0].contractType.nameContract.name, 'clientgw');
    assert.deepEqual(created.slice(1).map((c: any) => c.contractType.nodeContract.deploymentHash), [HASH_A, HASH_B]);
    assert.deepEqual(await client.contracts.getActiveContracts({ nodeId: node }), created.slice(1).map((c: any) => c.contractId));
    assert.equal(await client.contracts.getContractIdByActiveRentForNode({ nodeId: node }), null);

    const dup = await client.applyAllExtrinsics([await client.contracts.createName({ name: 'clientgw' })]).catch((e: unknown) => e);
    assert.equal(dup?.keyError, 'NameExists', String(dup));
    for (const c of created) assert.equal(await (await client.contracts.cancel({ id: c.contractId })).apply(), c.contractId);
    assert.deepEqual(await client.contracts.getActiveContracts({ nodeId: node }), []);
  });
});

test('official client: a rent contract is created, blocks other renters, and cancels with RentContractCanceled', { timeout: 60_000 }, async (t) => {
  if (!ready(t)) return;
  await quietly(async () => {
    const node = nodes[1];
    const rent = await (await client.contracts.createRent({ nodeId: node })).apply();
    assert.deepEqual(rent.contractType.rentContract, { nodeId: node });
    assert.equal(await client.contracts.getContractIdByActiveRentForNode({ nodeId: node }), rent.contractId);
    const again = await (await client.contracts.createRent({ nodeId: node })).apply().catch((e: unknown) => e);
    assert.equal(again?.keyError, 'NodeHasRentContract', String(again));
    assert.equal(await (await client.contracts.cancel({ id: rent.contractId })).apply(), rent.contractId);
    assert.equal(await client.contracts.get({ id: rent.contractId }), null);
  });
});
