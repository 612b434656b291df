import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { u8aToHex } from '@polkadot/util';
import { ChainTwinDirectory, ChainTwinError, relayField, TwinPublisher } from '../../relay-client/chain-twins.ts';
import { createIdentity, type Identity } from '../../relay-client/identity.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { CachedTwinDirectory } from '../../rmb/twins.ts';
import { RelayServer } from '../../relay/server.ts';

const relayFields = [
  { name: 'wss URL with a trailing slash', in: ['wss://relay.dev.grid.tf/'], out: 'relay.dev.grid.tf' },
  { name: 'several URLs, sorted and de-duplicated', in: ['wss://b.example', 'ws://a.example:8080/', 'wss://b.example'], out: 'a.example_b.example' },
  { name: 'bare hostnames', in: ['relay.one', 'relay.two'], out: 'relay.one_relay.two' },
];
for (const tc of relayFields) {
  test(`relayField: ${tc.name}`, () => assert.equal(relayField(tc.in), tc.out));
}
test('relayField: refuses what the chain would reject (no mangled ws:/host)', () => {
  assert.throws(() => relayField(['ws:/host']), ChainTwinError);
  assert.throws(() => relayField(['host/path']), ChainTwinError);
});

test('ChainTwinDirectory: decodes Twins(u32) with the real tfchain spec-152 types', async () => {
  const metaPath = new URL('../../../shared/tfchain/chainMeta-spec152.json', import.meta.url);
  const registry = new TypeRegistry();
  registry.setMetadata(new Metadata(registry, JSON.parse(readFileSync(metaPath, 'utf8')).result));
  const accountId = new Uint8Array(32).fill(5);
  const pk = new Uint8Array(33).fill(3);
  const stored = registry.createType('Option<PalletTfgridTwin>', {
    id: 42, accountId, relay: u8aToHex(new TextEncoder().encode('relay.dev.grid.tf')), entities: [], pk: u8aToHex(pk),
  });
  const bare = registry.createType('Option<PalletTfgridTwin>', { id: 7, accountId, relay: null, entities: [], pk: null });
  const results = new Map<number, unknown>([[42, stored], [7, bare], [1, registry.createType('Option<PalletTfgridTwin>', null)]]);
  const api = { query: { tfgridModule: { twins: async (id: number) => results.get(id) } } } as unknown as ApiPromise;
  const dir = new ChainTwinDirectory(api);
  assert.deepEqual(await dir.getTwin(42), { id: 42, accountId, relay: 'relay.dev.grid.tf', pk });
  assert.deepEqual(await dir.getTwin(7), { id: 7, accountId, relay: null, pk: null });
  assert.equal(await dir.getTwin(1), null);
});

/** Submits and waits for inclusion; rejects on a dispatch error. */
function submit(api: ApiPromise, tx: SubmittableExtrinsic<'promise'>, pair: KeyringPair): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.signAndSend(pair, { nonce: -1 }, (r) => {
      if (r.dispatchError) reject(new Error(r.dispatchError.toString()));
      else if (r.status.isInBlock || r.status.isFinalized) resolve();
    }).catch(reject);
  });
}

async function createTwin(api: ApiPromise, id: Identity, relay: string): Promise<number> {
  await submit(api, api.tx.tfgridModule!.userAcceptTc!('https://example.com/tc', 'abc'), id.pair);
  await submit(api, api.tx.tfgridModule!.createTwin!(u8aToHex(new TextEncoder().encode(relay)), u8aToHex(id.secpPublic)), id.pair);
  const twinId = (await api.query.tfgridModule!.twinIdByAccountID!(id.accountId)).toJSON();
  assert.equal(typeof twinId, 'number', 'TwinIdByAccountID is set after createTwin');
  return twinId as number;
}

test('devnet: twins published on chain drive relay auth, routing and peer verification', async (t) => {
  const { Devnet } = await import('../../chain/devnet/index.ts');
  const a = await createIdentity('bottom drive obey lake curtain smoke basket hold race lonely fit walk', 'sr25519');
  const b = await createIdentity('0x' + '42'.repeat(32), 'ed25519');
  const devnet = new Devnet({ port: 0, genesis: { endowed: [[u8aToHex(a.accountId), 10n ** 15n], [u8aToHex(b.accountId), 10n ** 15n]] } });
  const chainUrl = await devnet.start();
  t.after(() => devnet.close());
  const api = await ApiPromise.create({ provider: new WsProvider(chainUrl), noInitWarn: true });
  t.after(() => api.disconnect());

  const twinA = await createTwin(api, a, 'relay.test');
  const twinB = await createTwin(api, b, 'elsewhere.test');
  const dir = new ChainTwinDirectory(api);
  assert.deepEqual(await dir.getTwin(twinA), { id: twinA, accountId: a.accountId, relay: 'relay.test', pk: a.secpPublic });
  assert.equal(await dir.getTwin(99_999), null);

  // The node-side publisher fixes b's relay field (hosts only) and is a no-op once it matches.
  const publisher = new TwinPublisher(api, b.pair);
  assert.equal(await publisher.ensure(twinB, ['wss://relay.test/'], b.secpPublic), true);
  assert.equal((await dir.getTwin(twinB))?.relay, 'relay.test');
  assert.equal(await publisher.ensure(twinB, ['wss://relay.test/'], b.secpPublic), false);

  const twins = new CachedTwinDirectory(dir);
  const relay = new RelayServer({ twins, domains: ['relay.test'] });
  await relay.start();
  t.after(() => relay.close());
  const peers = [
    new RelayPeer({ identity: a, twinId: twinA, relays: [relay.url], relayHosts: ['relay.test'], twins }),
    new RelayPeer({ identity: b, twinId: twinB, relays: [relay.url], relayHosts: ['relay.test'], twins }),
  ];
  for (const p of peers) {
    await p.start();
    t.after(() => p.close());
    await p.connected(AbortSignal.timeout(10_000));
  }
  peers[1]!.handle('zos.system.version', () => ({ zos: 'test' }));
  assert.deepEqual(await peers[0]!.request(twinB, 'zos.system.version', null, { timeoutMs: 10_000 }), { zos: 'test' });
});
