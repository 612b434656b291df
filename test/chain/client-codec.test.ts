import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import {
  balanceSchema,
  contractSchema,
  decode,
  deploymentHashBytes,
  farmSchema,
  nodePowerSchema,
  nodeSchema,
  pricingPolicySchema,
  twinSchema,
  uint,
} from '../../chain/client/codec.ts';
import { ChainError } from '../../chain/client/errors.ts';
import { nodeMatches, relayHostList, type NodeSpec } from '../../chain/client/registration.ts';
import { requireHost } from '../helpers/host.ts';
import { ALICE_HEX, codecJson, HASH, referenceRegistry } from './client-fixtures.ts';

const haveRef = referenceRegistry() !== null;

test('codec: parses a spec-152 Twin into plain types (relay text, pk bytes, account bytes)', (t) => {
  if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
  const pk = `0x02${'ab'.repeat(32)}`;
  const json = codecJson('PalletTfgridTwin', { id: 7, accountId: ALICE_HEX, relay: 'relay.dev.grid.tf', entities: [], pk });
  const twin = decode(twinSchema, json, 'twin');
  assert.equal(twin.id, 7);
  assert.equal(u8aToHex(twin.accountId), ALICE_HEX);
  assert.equal(twin.relay, 'relay.dev.grid.tf');
  assert.equal(u8aToHex(twin.pk!), pk);
  const bare = decode(twinSchema, codecJson('PalletTfgridTwin', { id: 8, accountId: ALICE_HEX, relay: null, entities: [], pk: null }), 'twin');
  assert.equal(bare.relay, null);
  assert.equal(bare.pk, null);
});

test('codec: absent Option storage decodes to null', () => {
  assert.equal(decode(twinSchema.nullable(), null, 'twin'), null);
});

test('codec: parses node contract with the 32-char deployment hash as a string', (t) => {
  if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
  const json = codecJson('PalletSmartContractContract', {
    version: 4,
    state: { GracePeriod: 42 },
    contractId: 9,
    twinId: 3,
    contractType: {
      NodeContract: { nodeId: 1, deploymentHash: HASH, deploymentData: '{"a":1}', publicIps: 1, publicIpsList: [{ ip: '185.1.2.3/24', gateway: '185.1.2.1', contractId: 9 }] },
    },
    solutionProviderId: null,
  });
  const c = decode(contractSchema, json, 'contract');
  assert.deepEqual(c.state, { kind: 'GracePeriod', sinceBlock: 42 });
  assert.deepEqual(c.contractType, {
    kind: 'NodeContract',
    nodeId: 1,
    deploymentHash: HASH,
    deploymentData: '{"a":1}',
    publicIps: 1,
    publicIpsList: [{ ip: '185.1.2.3/24', gateway: '185.1.2.1', contractId: 9 }],
  });
  assert.equal(c.solutionProviderId, null);
});

const contractStates = [
  { name: 'Created', input: { Created: null }, want: { kind: 'Created' } },
  { name: 'Deleted(CanceledByUser)', input: { Deleted: 'CanceledByUser' }, want: { kind: 'Deleted', cause: 'CanceledByUser' } },
  { name: 'Deleted(OutOfFunds)', input: { Deleted: 'OutOfFunds' }, want: { kind: 'Deleted', cause: 'OutOfFunds' } },
] as const;
for (const tc of contractStates) {
  test(`codec: contract state ${tc.name}`, (t) => {
    if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
    const json = codecJson('PalletSmartContractContract', {
      version: 4,
      state: tc.input,
      contractId: 1,
      twinId: 1,
      contractType: { NameContract: { name: 'my-name' } },
      solutionProviderId: 5,
    });
    const c = decode(contractSchema, json, 'contract');
    assert.deepEqual(c.state, tc.want);
    assert.deepEqual(c.contractType, { kind: 'NameContract', name: 'my-name' });
    assert.equal(c.solutionProviderId, 5);
  });
}

test('codec: parses a Node with public config, interfaces and serial', (t) => {
  if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
  const json = codecJson('TfchainSupportNode', {
    version: 5,
    id: 11,
    farmId: 2,
    twinId: 4,
    resources: { hru: 0, sru: 512 * 2 ** 30, cru: 8, mru: 16 * 2 ** 30 },
    location: { city: 'Ghent', country: 'Belgium', latitude: '51.05', longitude: '3.71' },
    publicConfig: { ip4: { ip: '185.1.2.3/24', gw: '185.1.2.1' }, ip6: null, domain: 'n.example.com' },
    created: 1_700_000_000,
    farmingPolicyId: 1,
    interfaces: [{ name: 'zos', mac: '00:11:22:33:44:55', ips: ['10.0.0.2'] }],
    certification: 'Diy',
    secureBoot: false,
    virtualized: true,
    serialNumber: 'ABC123',
    connectionPrice: 80,
  });
  const n = decode(nodeSchema, json, 'node');
  assert.equal(n.resources.sru, 512 * 2 ** 30);
  assert.deepEqual(n.publicConfig, { ip4: { ip: '185.1.2.3/24', gw: '185.1.2.1' }, ip6: null, domain: 'n.example.com' });
  assert.deepEqual(n.interfaces, [{ name: 'zos', mac: '00:11:22:33:44:55', ips: ['10.0.0.2'] }]);
  assert.equal(n.certification, 'Diy');
  assert.equal(n.serialNumber, 'ABC123');
  const spec: NodeSpec = {
    farmId: 2,
    resources: n.resources,
    location: n.location,
    interfaces: n.interfaces,
    secureBoot: false,
    virtualized: true,
    serialNumber: 'ABC123',
  };
  assert.equal(nodeMatches(n, spec), true);
  assert.equal(nodeMatches(n, { ...spec, resources: { ...spec.resources, cru: 16 } }), false);
  assert.equal(nodeMatches(n, { ...spec, interfaces: [] }), false);
});

test('codec: parses a Farm with public IPs and no policy limits', (t) => {
  if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
  const json = codecJson('TfchainSupportFarm', {
    version: 4,
    id: 2,
    name: 'my_farm',
    twinId: 4,
    pricingPolicyId: 1,
    certification: 'NotCertified',
    publicIps: [{ ip: '185.1.2.3/24', gateway: '185.1.2.1', contractId: 0 }],
    dedicatedFarm: false,
    farmingPolicyLimits: null,
  });
  const f = decode(farmSchema, json, 'farm');
  assert.equal(f.name, 'my_farm');
  assert.deepEqual(f.publicIps, [{ ip: '185.1.2.3/24', gateway: '185.1.2.1', contractId: 0 }]);
  assert.equal(f.farmingPolicyLimits, null);
});

test('codec: NodePower Down(block) and balances above 2^53 as bigint', (t) => {
  if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
  assert.deepEqual(decode(nodePowerSchema, codecJson('TfchainSupportNodePower', { state: { Down: 5 }, target: 'Up' }), 'power'), {
    state: { kind: 'Down', sinceBlock: 5 },
    target: 'Up',
  });
  assert.deepEqual(decode(nodePowerSchema, codecJson('TfchainSupportNodePower', {}), 'power').state, { kind: 'Up' });
  const acct = codecJson('FrameSystemAccountInfo', { nonce: 1, data: { free: (1n << 60n) + 1n, reserved: 7, frozen: 0, flags: 0 } });
  assert.deepEqual(decode(balanceSchema, acct, 'account'), { free: (1n << 60n) + 1n, reserved: 7n, frozen: 0n });
});

test('codec: pricing policy accounts decode from SS58 to bytes', (t) => {
  if (!requireHost(t, haveRef, 'spec-152 reference metadata missing')) return;
  const unit = { value: 50000, unit: 'Gigabytes' };
  const json = codecJson('PalletTfgridPricingPolicy', {
    version: 1,
    id: 1,
    name: 'threefold_default_pricing_policy',
    su: unit,
    cu: unit,
    nu: unit,
    ipu: unit,
    uniqueName: unit,
    domainName: unit,
    foundationAccount: ALICE_HEX,
    certifiedSalesAccount: ALICE_HEX,
    discountForDedicationNodes: 50,
  });
  const p = decode(pricingPolicySchema, json, 'policy');
  assert.equal(p.su.unit, 'Gigabytes');
  assert.equal(u8aToHex(p.foundationAccount), ALICE_HEX);
  assert.equal(p.discountForDedicationNodes, 50);
});

test('codec: rejects malformed JSON with a typed ERR_DECODE naming the value', () => {
  assert.throws(
    () => decode(twinSchema, { id: 'x', accountId: 'nope' }, 'twin 3'),
    (e: unknown) => e instanceof ChainError && e.code === 'ERR_DECODE' && /twin 3/.test(e.message),
  );
  assert.throws(() => decode(uint, `0x${'ff'.repeat(9)}`, 'id'), /does not fit a JS number/);
  assert.equal(decode(uint, '0x0000000000000010', 'id'), 16);
});

const hashes = [
  { name: 'md5 hex string', hash: HASH, ok: true },
  { name: 'too short', hash: 'abc', ok: false },
  { name: '0x-prefixed H256 hex', hash: `0x${'00'.repeat(32)}`, ok: false },
  { name: 'non-ASCII', hash: 'é'.repeat(32), ok: false },
] as const;
for (const tc of hashes) {
  test(`codec: deployment hash input ${tc.name} ${tc.ok ? 'is accepted' : 'is rejected'}`, () => {
    if (tc.ok) assert.equal(u8aToHex(deploymentHashBytes(tc.hash)), u8aToHex(new TextEncoder().encode(tc.hash)));
    else assert.throws(() => deploymentHashBytes(tc.hash), (e: unknown) => e instanceof ChainError && e.code === 'ERR_BAD_INPUT');
  });
}

const relays = [
  { name: 'one wss URL', input: ['wss://relay.dev.grid.tf'], want: 'relay.dev.grid.tf' },
  { name: 'URLs with paths and ports, sorted', input: ['wss://r2.grid.tf/', 'ws://r1.grid.tf:8080/path'], want: 'r1.grid.tf:8080_r2.grid.tf' },
  { name: 'bare hosts de-duplicated', input: ['relay.grid.tf', 'wss://relay.grid.tf', 'relay.grid.tf/'], want: 'relay.grid.tf' },
  { name: 'empty list', input: [], want: '' },
] as const;
for (const tc of relays) {
  test(`relayHostList: ${tc.name}`, () => {
    assert.equal(relayHostList(tc.input), tc.want);
  });
}

test('relayHostList: rejects a host with an underscore or a mangled URL', () => {
  for (const bad of ['bad_host', 'ws:/host', 'wss://']) {
    assert.throws(() => relayHostList([bad]), (e: unknown) => e instanceof ChainError && e.code === 'ERR_BAD_INPUT', bad);
  }
});

test('codec: hex bytes fields survive non-UTF-8 content', () => {
  const pk = decode(twinSchema, { id: 1, accountId: ALICE_HEX, relay: null, entities: [{ entityId: 2, signature: '0xff00' }], pk: '0xff' }, 'twin');
  assert.deepEqual(pk.entities[0]!.signature, hexToU8a('0xff00'));
});
