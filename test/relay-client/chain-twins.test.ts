import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectChain, toHex } from '../../chain/client/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { ChainTwinDirectory, ChainTwinError, relayField } from '../../relay-client/chain-twins.ts';
import { createIdentity } from '../../relay-client/identity.ts';
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
  assert.throws(() => relayField(['ws:/host']), (e: unknown) => e instanceof ChainTwinError && e.code === 'ERR_BAD_RELAY');
  assert.throws(() => relayField(['host/path']), ChainTwinError);
});

test('devnet: twins published on chain drive relay auth, routing and peer verification', async (t) => {
  const { Devnet } = await import('../../chain/devnet/index.ts');
  const a = await createIdentity('bottom drive obey lake curtain smoke basket hold race lonely fit walk', 'sr25519');
  const b = await createIdentity('0x' + '42'.repeat(32), 'ed25519');
  const devnet = new Devnet({ port: 0, genesis: { endowed: [[toHex(a.accountId), 10n ** 15n], [toHex(b.accountId), 10n ** 15n]] } });
  const chainUrl = await devnet.start();
  t.after(() => devnet.close());
  const chain = connectChain({ urls: [chainUrl], logger: silentLogger(), metadataCacheDir: null });
  await chain.start();
  t.after(() => chain.close());
  const createTwin = async (id: typeof a, relay: string) => {
    await chain.as(id.pair).ensureTermsAccepted('https://example.com/tc', 'abc');
    return (await chain.as(id.pair).ensureTwin({ relay, pk: id.secpPublic })).twinId;
  };

  const twinA = await createTwin(a, 'relay.test');
  const twinB = await createTwin(b, 'elsewhere.test');
  const dir = new ChainTwinDirectory(chain);
  assert.deepEqual(await dir.getTwin(twinA), { id: twinA, accountId: a.accountId, relay: 'relay.test', pk: a.secpPublic });
  assert.equal(await dir.getTwin(99_999), null);
  // The node's registration fixes b's relay field (hosts only).
  assert.equal((await chain.as(b.pair).ensureTwin({ relay: ['wss://relay.test/'], pk: b.secpPublic })).change, 'updated');
  assert.equal((await dir.getTwin(twinB))?.relay, 'relay.test');

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
