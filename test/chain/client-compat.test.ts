import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { build } from '../../chain/client/contracts.ts';
import type { Connection } from '../../chain/client/connection.ts';
import { signExtrinsic, type SigningInfo } from '../../chain/client/extrinsic.ts';
import { keyPairFromSecret, type KeyringPair } from '../../chain/client/keys.ts';
import { keyPairFromSeed } from './helpers/keys.ts';
import { readEntries, readStorage } from '../../chain/client/queries.ts';
import { Call, toHex } from '../../chain/client/scale.ts';
import { HASH, registerNode, startChain, type ChainEnv } from './client-fixtures.ts';

/**
 * Wire compatibility of the lean client with @polkadot/api on the devnet: every call the node
 * and the CLI sign gives the same extrinsic bytes as polkadot-js for the same nonce, era and tip
 * (ed25519 signatures are deterministic), and storage values, map entries and block events
 * decode to the same JSON as polkadot-js' `toJSON()`.
 */

let env: ChainEnv;
let api: ApiPromise;
let conn: Connection;
let node: { nodeKey: KeyringPair; farmId: number; nodeId: number };
let contractId: number;

before(async () => {
  env = await startChain();
  api = await ApiPromise.create({ provider: new WsProvider(env.url), noInitWarn: true, signedExtensions: { ContractIdProvides: { extrinsic: {}, payload: {} } } });
  conn = await env.client.connection();
  node = await registerNode(env.client, 'compat_farm');
  const bob = env.client.as(await keyPairFromSecret('//Bob'));
  await bob.ensureTermsAccepted();
  await bob.ensureTwin({ relay: ['relay.compat.test'], pk: new Uint8Array(33).fill(2) });
  ({ contractId } = await bob.createNodeContract({ nodeId: node.nodeId, hash: HASH, data: '{"name":"compat"}' }));
  await bob.createNameContract('compat-name');
  await env.client.as(node.nodeKey).reportContractResources([{ contractId, used: { hru: 0, sru: 1024, cru: 1, mru: 2048 } }]);
});

after(async () => {
  await api?.disconnect();
  await env?.close();
});

/** Every call the node, the registrar, the farmer and the CLI submit, with sample arguments. */
function calls(nodeId: number, farmId: number): Array<[Call, (a: ApiPromise) => SubmittableExtrinsic<'promise'>]> {
  const hex = (s: string) => toHex(new TextEncoder().encode(s));
  const spec = { hru: 1, sru: 2 ** 40, cru: 8, mru: 2 ** 34 };
  const loc = { city: hex('Ghent'), country: hex('Belgium'), latitude: hex('51.05'), longitude: hex('3.71') };
  const ifaces = [{ name: hex('zos'), mac: hex('52:54:00:12:34:56'), ips: [hex('10.0.0.2')] }];
  const pub = { ip4: { ip: hex('198.18.0.2/24'), gw: hex('198.18.0.1') }, ip6: null, domain: hex('gw.lab') };
  const c = (section: string, method: string, ...args: unknown[]) => new Call(section, method, args);
  return [
    [c('tfgridModule', 'userAcceptTc', hex('http://zos.tf/terms/v0.1'), hex('9021d4dee05a661e2cb6838152c67f25')), (a) => a.tx.tfgridModule.userAcceptTc(hex('http://zos.tf/terms/v0.1'), hex('9021d4dee05a661e2cb6838152c67f25'))],
    [c('tfgridModule', 'createTwin', hex('relay.test'), toHex(new Uint8Array(33).fill(3))), (a) => a.tx.tfgridModule.createTwin(hex('relay.test'), toHex(new Uint8Array(33).fill(3)))],
    [c('tfgridModule', 'updateTwin', null, null), (a) => a.tx.tfgridModule.updateTwin(null, null)],
    [c('tfgridModule', 'createFarm', hex('farm1'), [{ ip: hex('198.18.1.2/24'), gw: hex('198.18.1.1') }]), (a) => a.tx.tfgridModule.createFarm(hex('farm1'), [{ ip: hex('198.18.1.2/24'), gw: hex('198.18.1.1') }])],
    [c('tfgridModule', 'createNode', farmId, spec, loc, ifaces, false, true, null), (a) => a.tx.tfgridModule.createNode(farmId, spec, loc, ifaces, false, true, null)],
    [c('tfgridModule', 'updateNode', nodeId, farmId, spec, loc, ifaces, true, false, hex('SN1')), (a) => a.tx.tfgridModule.updateNode(nodeId, farmId, spec, loc, ifaces, true, false, hex('SN1'))],
    [c('tfgridModule', 'addNodePublicConfig', farmId, nodeId, pub), (a) => a.tx.tfgridModule.addNodePublicConfig(farmId, nodeId, pub)],
    [c('tfgridModule', 'reportUptimeV2', 3600, 1_700_000_000), (a) => a.tx.tfgridModule.reportUptimeV2(3600, 1_700_000_000)],
    [c('tfgridModule', 'changePowerState', 'Down'), (a) => a.tx.tfgridModule.changePowerState('Down')],
    [c('tfgridModule', 'changePowerTarget', nodeId, 'Up'), (a) => a.tx.tfgridModule.changePowerTarget(nodeId, 'Up')],
    [c('smartContractModule', 'reportContractResources', [{ contractId: 7, used: spec }]), (a) => a.tx.smartContractModule.reportContractResources([{ contractId: 7, used: spec }])],
    [c('smartContractModule', 'addNruReports', [{ contractId: 7, timestamp: 1_700_000_000, window: 600, nru: 12345 }]), (a) => a.tx.smartContractModule.addNruReports([{ contractId: 7, timestamp: 1_700_000_000, window: 600, nru: 12345 }])],
    [build.createNodeContract({ nodeId, hash: HASH, data: 'd', publicIps: 1, solutionProviderId: 3 }), (a) => a.tx.smartContractModule.createNodeContract(nodeId, new TextEncoder().encode(HASH), hex('d'), 1, 3)],
    [build.updateNodeContract(9, HASH, '{"x":1}'), (a) => a.tx.smartContractModule.updateNodeContract(9, new TextEncoder().encode(HASH), hex('{"x":1}'))],
    [build.cancelContract(9), (a) => a.tx.smartContractModule.cancelContract(9)],
    [build.createNameContract('gw-name'), (a) => a.tx.smartContractModule.createNameContract(hex('gw-name'))],
    [build.createRentContract(nodeId), (a) => a.tx.smartContractModule.createRentContract(nodeId, null)],
    [
      c('utility', 'batchAll', [build.createNameContract('nm1'), build.cancelContract(4)]),
      (a) => a.tx.utility.batchAll([a.tx.smartContractModule.createNameContract(hex('nm1')), a.tx.smartContractModule.cancelContract(4)]),
    ],
    [c('balances', 'transferKeepAlive', node.nodeKey.address, 10n ** 12n), (a) => a.tx.balances.transferKeepAlive(node.nodeKey.address, 10n ** 12n)],
    // Long enough (> 256 bytes) that the signed payload is hashed first.
    [c('tfgridModule', 'createFarm', hex('f'.repeat(40)), Array.from({ length: 8 }, (_, i) => ({ ip: hex(`198.18.2.${i}/24`), gw: hex('198.18.2.254') }))), (a) => a.tx.tfgridModule.createFarm(hex('f'.repeat(40)), Array.from({ length: 8 }, (_, i) => ({ ip: hex(`198.18.2.${i}/24`), gw: hex('198.18.2.254') })))],
  ];
}

test('compat: every call the node and CLI submit signs to the bytes polkadot-js gives (ed25519, mortal and immortal, tip)', async () => {
  const key = await keyPairFromSeed(new Uint8Array(32).fill(7), 'ed25519');
  const head = await api.rpc.chain.getFinalizedHead();
  const number = (await api.rpc.chain.getHeader(head)).number.toNumber();
  const variants: Array<Omit<SigningInfo, 'specVersion' | 'transactionVersion' | 'genesisHash'>> = [
    { nonce: 0, era: null },
    { nonce: 17, tip: 5n, era: { blockHash: head.toHex(), blockNumber: number, period: 64 } },
    { nonce: 300, era: { blockHash: head.toHex(), blockNumber: number + 1000, period: 200 } },
  ];
  const list = calls(node.nodeId, node.farmId);
  for (const [ours, theirs] of list) {
    for (const v of variants) {
      const info: SigningInfo = { ...v, ...conn.chain };
      const xt = theirs(api);
      xt.sign(key, {
        blockHash: v.era?.blockHash ?? api.genesisHash,
        genesisHash: api.genesisHash,
        nonce: v.nonce,
        tip: v.tip ?? 0n,
        era: v.era ? api.registry.createType('ExtrinsicEra', { current: v.era.blockNumber, period: v.era.period }) : api.registry.createType('ExtrinsicEra', '0x00'),
        runtimeVersion: api.runtimeVersion,
        signedExtensions: api.registry.signedExtensions,
      } as never);
      assert.equal(toHex(signExtrinsic(conn.runtime, ours, key, info)), xt.toHex(), `${ours.section}.${ours.method} nonce ${v.nonce}`);
    }
  }
  assert.ok(list.length >= 20);
});

test('compat: storage values decode to polkadot-js JSON (twins, farms, nodes, contracts, balances, terms, billing)', async () => {
  const twinId = (await api.query.tfgridModule.twinIdByAccountID(node.nodeKey.address)).toJSON() as number;
  const bob = (await keyPairFromSecret('//Bob')).address;
  const items: Array<[string, string, unknown[]]> = [
    ['tfgridModule', 'twins', [twinId]],
    ['tfgridModule', 'twins', [9999]],
    ['tfgridModule', 'twinIdByAccountID', [node.nodeKey.address]],
    ['tfgridModule', 'farms', [node.farmId]],
    ['tfgridModule', 'farmIdByName', ['compat_farm']],
    ['tfgridModule', 'nodes', [node.nodeId]],
    ['tfgridModule', 'nodeIdByTwinID', [twinId]],
    ['tfgridModule', 'nodeIdByTwinID', [9999]],
    ['tfgridModule', 'nodePower', [node.nodeId]],
    ['tfgridModule', 'pricingPolicies', [1]],
    ['tfgridModule', 'usersTermsAndConditions', [bob]],
    ['tfgridModule', 'zosVersion', []],
    ['tfgridModule', 'nodeID', []],
    ['smartContractModule', 'contracts', [contractId]],
    ['smartContractModule', 'contractIDByNodeIDAndHash', [node.nodeId, new TextEncoder().encode(HASH)]],
    ['smartContractModule', 'contractIDByNameRegistration', ['compat-name']],
    ['smartContractModule', 'activeNodeContracts', [node.nodeId]],
    ['smartContractModule', 'activeRentContractForNode', [node.nodeId]],
    ['smartContractModule', 'contractBillingInformationByID', [contractId]],
    ['smartContractModule', 'nodeContractResources', [contractId]],
    ['system', 'account', [bob]],
    ['timestamp', 'now', []],
  ];
  for (const [section, name, keys] of items) {
    const theirs = (await (api.query as never as Record<string, Record<string, (...a: unknown[]) => Promise<{ toJSON(): unknown }>>>)[section]![name]!(...keys)).toJSON();
    assert.deepEqual(await readStorage(conn, section, name, keys), theirs, `${section}.${name}(${keys.join(', ')})`);
  }
});

test('compat: map entries at a block decode to polkadot-js keys and values', async () => {
  const hash = (await api.rpc.chain.getFinalizedHead()).toHex();
  const at = await api.at(hash);
  for (const [section, name] of [['tfgridModule', 'twins'], ['tfgridModule', 'nodes'], ['tfgridModule', 'farms'], ['smartContractModule', 'contracts']] as const) {
    const theirs = (await (at.query as never as Record<string, Record<string, { entries(): Promise<Array<[{ args: Array<{ toJSON(): unknown }> }, { toJSON(): unknown }]>> }>>)[section]![name]!.entries())
      .map(([k, v]) => ({ key: k.args.map((a) => a.toJSON()), value: v.toJSON() }));
    const ours = await readEntries(conn, section, name, hash);
    const order = (l: Array<{ key: unknown[] }>) => [...l].sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
    assert.ok(ours.length > 0, `${section}.${name} has entries`);
    assert.deepEqual(order(ours), order(theirs), `${section}.${name} entries`);
  }
});

test('compat: the events of every block so far decode as polkadot-js decodes them', async () => {
  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  let seen = 0;
  for (let n = 1; n <= head; n++) {
    const hash = await api.rpc.chain.getBlockHash(n);
    const theirs = ((await api.query.system.events.at(hash)) as unknown as Array<{ phase: { toJSON(): unknown }; event: { section: string; method: string; data: { toJSON(): unknown } } }>).map((r) => ({
      phase: r.phase.toJSON(),
      event: { section: r.event.section, method: r.event.method, data: r.event.data.toJSON() },
    }));
    const ours = conn.runtime.decodeEvents(await conn.rpc.request('state_getStorage', [conn.runtime.eventsKey, hash.toHex()]));
    assert.deepEqual(ours, theirs, `events of block ${n}`);
    seen += ours.length;
  }
  assert.ok(seen > 20, `decoded ${seen} events`);
});
