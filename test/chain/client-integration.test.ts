import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { u8aToHex } from '@polkadot/util';
import type { ChainClient } from '../../chain/client/connection.ts';
import { build, canceledFromEvents, contractsFromEvents } from '../../chain/client/contracts.ts';
import { ChainError } from '../../chain/client/errors.ts';
import type { NodeEvent } from '../../chain/client/events.ts';
import { keyPairFromSecret, type KeyringPair } from '../../chain/client/keys.ts';
import { keyPairFromSeed } from './helpers/keys.ts';
import { collectUntil, HASH, nodeSpec, registerNode, startChain, TFT, type ChainEnv } from './client-fixtures.ts';

/** Our client over real WebSockets against the in-process devnet. */

let env: ChainEnv | null = null;
let client: ChainClient | null = null;
before(async () => {
  ({ client } = env = await startChain());
});

after(async () => {
  await env?.close();
});

function ready(_t: TestContext): ChainClient | null {
  return client;
}

interface World {
  alice: KeyringPair;
  nodeKey: KeyringPair;
  user: KeyringPair;
  farmId: number;
  nodeId: number;
}
let world: Promise<World> | null = null;

/** A funded ed25519 node account (as zos signs) with twin, farm and node; Bob as a user with T&C and twin. */
function registered(c: ChainClient): Promise<World> {
  world ??= (async () => {
    const alice = await keyPairFromSecret('//Alice');
    const user = await keyPairFromSecret('//Bob');
    const { nodeKey, farmId, nodeId } = await registerNode(c, 'client_test_farm');
    await c.as(user).ensureTermsAccepted('https://example.com/terms', 'garbage');
    await c.as(user).ensureTwin({ relay: null, pk: null });
    return { alice, nodeKey, user, farmId, nodeId };
  })();
  return world;
}

test('client: registration is idempotent and updates what differs (T&C, twin, farm, node)', async (t) => {
  const c = ready(t);
  if (!c) return;
  const w = await registered(c);
  const node = c.as(w.nodeKey);
  assert.equal(await node.ensureTermsAccepted(), false, 'already accepted');
  const twinId = (await c.query.twinIdByAccount(w.nodeKey.address))!;
  assert.ok(twinId > 0);
  assert.deepEqual(await node.ensureTwin({ relay: ['wss://relay.dev.grid.tf/'], pk: null }), { twinId, change: 'unchanged' });
  const pk = new Uint8Array(33).fill(2);
  assert.deepEqual(await node.ensureTwin({ relay: ['wss://r2.grid.tf', 'wss://relay.dev.grid.tf'], pk }), { twinId, change: 'updated' });
  const twin = (await c.query.twin(twinId))!;
  assert.equal(twin.relay, 'r2.grid.tf_relay.dev.grid.tf');
  assert.equal(u8aToHex(twin.pk!), u8aToHex(pk));
  assert.equal(u8aToHex(twin.accountId), u8aToHex(w.nodeKey.publicKey));

  assert.deepEqual(await node.ensureFarm('client_test_farm'), { farmId: w.farmId, change: 'unchanged' });
  const farm = (await c.query.farm(w.farmId))!;
  assert.equal(farm.name, 'client_test_farm');
  assert.equal(farm.twinId, twinId);

  assert.deepEqual(await node.ensureNode(nodeSpec(w.farmId)), { nodeId: w.nodeId, change: 'unchanged' });
  assert.deepEqual(await node.ensureNode(nodeSpec(w.farmId, 8)), { nodeId: w.nodeId, change: 'updated' });
  const n = (await c.query.node(w.nodeId))!;
  assert.equal(n.resources.cru, 8);
  assert.equal(n.twinId, twinId);
  assert.equal(await c.query.nodeIdByTwin(twinId), w.nodeId);
  assert.deepEqual((await c.query.nodePower(w.nodeId)).target, 'Up');
  const bal = await c.query.balance(w.nodeKey.address);
  assert.ok(bal.free > 0n && bal.free < 1000n * TFT, 'fees were paid from the transfer');
  assert.equal((await c.query.pricingPolicy(1))?.id, 1);
});

test('client: node contract lifecycle, and the event stream sees NodeContractCanceled', async (t) => {
  const c = ready(t);
  if (!c) return;
  const w = await registered(c);
  const user = c.as(w.user);
  const stream = c.events({ after: await c.query.finalizedBlockNumber() });
  const created = await user.createNodeContract({ nodeId: w.nodeId, hash: HASH, data: '{"name":"vm1"}' });
  assert.equal(created.contractType.kind, 'NodeContract');
  const id = created.contractId;
  const onChain = (await c.query.contract(id))!;
  assert.deepEqual(onChain.state, { kind: 'Created' });
  assert.ok(onChain.contractType.kind === 'NodeContract' && onChain.contractType.deploymentHash === HASH);
  assert.equal(await c.query.contractIdByNodeAndHash(w.nodeId, HASH), id);
  assert.ok((await c.query.activeNodeContracts(w.nodeId)).includes(id));

  const node = c.as(w.nodeKey);
  await node.reportContractResources([{ contractId: id, used: { hru: 0, sru: 10 * 2 ** 30, cru: 1, mru: 2 ** 30 } }]);
  await node.addNruReports([{ contractId: id, timestamp: Math.floor(Date.now() / 1000), window: 3600, nru: 1000 }]);
  await node.reportUptime(120);
  await node.changePowerState('Up');

  const updated = await user.updateNodeContract(id, 'e41d8cd98f00b204e9800998ecf8427e', '{"name":"vm1","v":2}');
  assert.ok(updated.contractType.kind === 'NodeContract' && updated.contractType.deploymentHash === 'e41d8cd98f00b204e9800998ecf8427e');
  assert.equal(await c.query.contractIdByNodeAndHash(w.nodeId, HASH), null);

  assert.deepEqual(canceledFromEvents((await user.cancelContract(id)).events), [id]);
  assert.equal(await c.query.contract(id), null);
  assert.ok(!(await c.query.activeNodeContracts(w.nodeId)).includes(id));
  const blocks = await collectUntil(stream, (e) => e.kind === 'NodeContractCanceled' && e.contractId === id);
  const canceled = blocks.flatMap((b) => b.events).find((e) => e.kind === 'NodeContractCanceled');
  assert.deepEqual(canceled, { kind: 'NodeContractCanceled', contractId: id, nodeId: w.nodeId, twinId: created.twinId });
  const numbers = blocks.map((b) => b.blockNumber);
  assert.deepEqual(numbers, numbers.map((_, i) => numbers[0]! + i), 'every block, in order');
  await stream.close();
});

test('client: the stream decodes live NodePublicConfigStored, PowerTargetChanged and TwinUpdated', async (t) => {
  const c = ready(t);
  if (!c) return;
  const w = await registered(c);
  const stream = c.events({ after: await c.query.finalizedBlockNumber() });
  const node = c.as(w.nodeKey);
  const config = { ip4: { ip: '185.206.122.33/24', gw: '185.206.122.1' }, ip6: null, domain: 'node.example.com' };
  await node.addNodePublicConfig(w.farmId, w.nodeId, config);
  assert.deepEqual((await c.query.node(w.nodeId))!.publicConfig, config);
  await node.changePowerTarget(w.nodeId, 'Up');
  const userTwin = (await c.query.twinIdByAccount(w.user.address))!;
  await c.as(w.user).ensureTwin({ relay: ['wss://relay.example.com'], pk: null });
  const blocks = await collectUntil(stream, (e) => e.kind === 'TwinUpdated');
  const events = blocks.flatMap((b) => b.events);
  assert.deepEqual(events.find((e) => e.kind === 'NodePublicConfigStored'), { kind: 'NodePublicConfigStored', nodeId: w.nodeId, config });
  assert.deepEqual(events.find((e) => e.kind === 'PowerTargetChanged'), { kind: 'PowerTargetChanged', farmId: w.farmId, nodeId: w.nodeId, target: 'Up' });
  const updated = events.find((e) => e.kind === 'TwinUpdated');
  assert.ok(updated?.kind === 'TwinUpdated');
  assert.equal(updated.twin.id, userTwin);
  assert.equal(updated.twin.relay, 'relay.example.com');
  await stream.close();
});

test('client: a stream restarted from a saved block replays without loss or duplicates', async (t) => {
  const c = ready(t);
  if (!c) return;
  const w = await registered(c);
  const saved = await c.query.finalizedBlockNumber();
  const user = c.as(w.user);
  const ids: number[] = [];
  for (const h of ['a0000000000000000000000000000001', 'a0000000000000000000000000000002']) {
    const k = await user.createNodeContract({ nodeId: w.nodeId, hash: h, data: '' });
    await user.cancelContract(k.contractId);
    ids.push(k.contractId);
  }
  const isLast = (e: NodeEvent) => e.kind === 'NodeContractCanceled' && e.contractId === ids[1];
  const all = await collectUntil(c.events({ after: saved }), isLast);

  // First run: stop while handling the block of the first cancel (not saved), then resume.
  const first = c.events({ after: saved });
  let lastSaved = saved;
  for await (const b of first) {
    if (b.events.some((e) => e.kind === 'NodeContractCanceled' && e.contractId === ids[0])) break;
    lastSaved = b.blockNumber;
  }
  assert.equal(first.lastProcessed, lastSaved);
  const second = await collectUntil(c.events({ after: lastSaved }), isLast);
  const replayed = [...all.filter((b) => b.blockNumber <= lastSaved), ...second];
  assert.deepEqual(
    replayed.map((b) => [b.blockNumber, b.blockHash, b.events]),
    all.map((b) => [b.blockNumber, b.blockHash, b.events]),
  );
  const cancels = replayed.flatMap((b) => b.events).filter((e) => e.kind === 'NodeContractCanceled');
  assert.deepEqual(cancels.map((e) => (e as { contractId: number }).contractId), ids);
});

test('client: batchAll creates contracts atomically, and a duplicate hash fails by name', async (t) => {
  const c = ready(t);
  if (!c) return;
  const w = await registered(c);
  const user = c.as(w.user);
  const gwName = `client-name-${Date.now()}`;
  const res = await user.batchAll([
    build.createNameContract(gwName),
    build.createNodeContract({ nodeId: w.nodeId, hash: 'b0000000000000000000000000000001', data: '' }),
    build.createNodeContract({ nodeId: w.nodeId, hash: 'b0000000000000000000000000000002', data: '' }),
  ]);
  const made = contractsFromEvents(res.events);
  assert.deepEqual(made.map((k) => k.contractType.kind), ['NameContract', 'NodeContract', 'NodeContract']);
  assert.equal(await c.query.contractIdByName(gwName), made[0]!.contractId, 'the gateway name resolves to its contract');
  assert.equal(await c.query.contractIdByName(`${gwName}-unknown`), null);

  const dup = await user.createNodeContract({ nodeId: w.nodeId, hash: 'b0000000000000000000000000000001', data: '' }).catch((e: unknown) => e);
  assert.ok(dup instanceof ChainError, String(dup));
  assert.equal(dup.code, 'ContractIsNotUnique');
  assert.equal(dup.name, 'ContractIsNotUnique');
  assert.equal(dup.section, 'smartContractModule');

  const before = await c.query.activeNodeContracts(w.nodeId);
  const failed = await user
    .batchAll([
      build.createNodeContract({ nodeId: w.nodeId, hash: 'b0000000000000000000000000000003', data: '' }),
      build.createNodeContract({ nodeId: w.nodeId, hash: 'b0000000000000000000000000000001', data: '' }),
    ])
    .catch((e: unknown) => e);
  assert.ok(failed instanceof ChainError && failed.code === 'ContractIsNotUnique', String(failed));
  assert.deepEqual(await c.query.activeNodeContracts(w.nodeId), before, 'batchAll rolled back the first call');
  assert.equal(await c.query.contractIdByNodeAndHash(w.nodeId, 'b0000000000000000000000000000003'), null);
});

test('client: module errors surface by name (twin without T&C) and an unfunded account is InsufficientBalance', async (t) => {
  const c = ready(t);
  if (!c) return;
  const charlie = await keyPairFromSecret('//Charlie');
  const noTc = await c.as(charlie).ensureTwin({ relay: null, pk: null }).catch((e: unknown) => e);
  assert.ok(noTc instanceof ChainError, String(noTc));
  assert.equal(noTc.code, 'UserDidNotSignTermsAndConditions');
  assert.equal(noTc.section, 'tfgridModule');
  assert.match(noTc.message, /accept the terms/);

  const poor = await keyPairFromSeed(new Uint8Array(randomBytes(32)), 'sr25519');
  const err = await c.as(poor).ensureTermsAccepted().catch((e: unknown) => e);
  assert.ok(err instanceof ChainError, String(err));
  assert.equal(err.code, 'InsufficientBalance');
  assert.equal(err.retriable, false);
  assert.equal((await c.query.balance(poor.address)).free, 0n);
});

test('client: 64 calls in flight on one connection raise no MaxListenersExceededWarning', async (t) => {
  const c = ready(t);
  if (!c) return;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
  };
  process.on('warning', onWarning);
  try {
    const twins = await Promise.all(Array.from({ length: 64 }, (_, i) => c.query.twin(i + 1)));
    assert.equal(twins.length, 64);
    // Node emits process warnings on the next tick.
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings.map((w) => w.message), []);
});
