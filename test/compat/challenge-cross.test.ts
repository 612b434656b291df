// Our challenge, hash and signatures checked against grid_client's own (its Deployment class:
// challenge(), challenge_hash(), sign()) for one deployment of every workload class, so neither
// side is only checked by itself. Where grid_client differs from zos (Go is authoritative, see the
// reference), the difference is asserted as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { challenge, hashHex, sign, verifySignatures, type Deployment } from '../../node/model/index.ts';
import { deployment, wl } from '../node/model/fixtures.ts';
import { decodeLikeGridClient } from './helpers.ts';

await cryptoWaitReady();
const GiB = 2 ** 30;
const KEY = 'ab'.repeat(32);
const FLIST = 'https://hub.grid.tf/tf-official-apps/base:latest.flist';
type Input = { name: string; type: string; data: unknown };
const classes: Input[] = [
  { name: 'disk', type: 'zmount', data: { size: GiB } },
  { name: 'vol', type: 'volume', data: { size: GiB } },
  { name: 'db', type: 'zdb', data: { size: GiB, mode: 'user', password: 'secret', public: true } },
  { name: 'pub', type: 'ip', data: { v4: true, v6: false } },
  { name: 'logs', type: 'zlogs', data: { zmachine: 'vm', output: 'redis://198.18.0.1:6379' } },
  { name: 'gwn', type: 'gateway-name-proxy', data: { name: 'site', tls_passthrough: false, backends: ['http://198.18.0.2:80'], network: 'net' } },
  { name: 'gwf', type: 'gateway-fqdn-proxy', data: { fqdn: 'a.example.com', tls_passthrough: true, backends: ['198.18.0.2:443'] } },
  {
    name: 'net', type: 'network',
    data: {
      ip_range: '10.1.0.0/16', subnet: '10.1.2.0/24', wireguard_private_key: 'K'.repeat(44), wireguard_listen_port: 6000,
      peers: [{ subnet: '10.1.3.0/24', wireguard_public_key: 'P'.repeat(44), allowed_ips: ['10.1.3.0/24', '100.64.1.3/32'], endpoint: '198.18.0.3:6000' }],
      mycelium: { hex_key: KEY, peers: ['tcp://198.18.0.4:9651'] },
    },
  },
  {
    name: 'vm', type: 'zmachine',
    data: {
      flist: FLIST, network: { public_ip: 'pub', interfaces: [{ network: 'net', ip: '10.1.2.5' }], planetary: true, mycelium: { network: 'net', hex_seed: '010203040506' } },
      size: GiB, compute_capacity: { cpu: 2, memory: 2 * GiB }, mounts: [{ name: 'disk', mountpoint: '/data' }], entrypoint: '/sbin/zinit init',
      env: { B: '2', A: '1' }, corex: false, gpu: ['0000:28:00.0/1002/731f'],
    },
  },
  {
    name: 'vml', type: 'zmachine-light',
    data: {
      flist: FLIST, network: { interfaces: [{ network: 'netl', ip: '10.1.2.6' }], mycelium: { network: 'netl', hex_seed: '010203040506' } },
      size: GiB, compute_capacity: { cpu: 1, memory: GiB }, mounts: [{ name: 'vol', mountpoint: '/v' }], entrypoint: '', env: {}, corex: false, gpu: [],
    },
  },
  {
    name: 'fs', type: 'qsfs',
    data: {
      cache: GiB,
      config: {
        minimal_shards: 2, expected_shards: 4, redundant_groups: 0, redundant_nodes: 0, max_zdb_data_dir_size: 32, encryption: { algorithm: 'AES', key: KEY },
        meta: { type: 'zdb', config: { prefix: 'pre', encryption: { algorithm: 'AES', key: KEY }, backends: [{ address: '[2001:db8::1]:9900', namespace: 'ns1', password: 'p1' }] } },
        groups: [{ backends: [{ address: '[2001:db8::2]:9900', namespace: 'n2', password: 'p2' }] }], compression: { algorithm: 'snappy' },
      },
    },
  },
];

/** The deployment JSON a client sends (what both sides decode). */
const raw = (w: Input, twin = 42) => ({
  version: 0, twin_id: twin, contract_id: 7, metadata: '', description: 'cross', expiration: 0,
  signature_requirement: { requests: [{ twin_id: twin, required: false, weight: 1 }], weight_required: 1, signatures: [] as unknown[], signature_style: '' },
  workloads: [wl(w)],
});

for (const w of classes) {
  test(`grid_client cross-check: ${w.type}: same challenge and hash; its sr25519 and ed25519 signatures verify here, ours verify with polkadot over its hash`, async () => {
    const theirs = (await decodeLikeGridClient(raw(w))).deployment;
    const ours = deployment([w], { twin: 42, description: 'cross' });
    assert.equal(challenge(ours), theirs.challenge());
    assert.equal(hashHex(ours), theirs.challenge_hash());
    for (const type of ['sr25519', 'ed25519'] as const) {
      const mnemonic = mnemonicGenerate();
      const pair = new Keyring({ type }).addFromUri(mnemonic);
      const signed = (await decodeLikeGridClient(raw(w))).deployment;
      await signed.sign(42, mnemonic, type);
      const back = deployment([w], { twin: 42, description: 'cross' });
      back.signature_requirement.signatures = JSON.parse(JSON.stringify(signed.signature_requirement.signatures)) as Deployment['signature_requirement']['signatures'];
      await verifySignatures(back, async () => pair.publicKey);
      // ours, checked by polkadot alone over the bytes of grid_client's hash
      const mine = sign(ours, 42, pair).signature_requirement.signatures[0]!;
      assert.equal(mine.signature_type, type);
      assert.ok(pair.verify(Buffer.from(theirs.challenge_hash(), 'hex'), Buffer.from(mine.signature, 'hex'), pair.publicKey), `${type} signature over grid_client's hash`);
    }
  });
}

test('grid_client cross-check: where grid_client differs from zos, as the reference says (Go is authoritative)', async () => {
  // network-light: zosbase hashes ip_range (<nil> when unset), subnet, key, port 0, peers, then the
  // mycelium key; grid_client's NetworkLight hashes only subnet and the mycelium key.
  const light = { name: 'netl', type: 'network-light', data: { subnet: '10.1.2.0/24', mycelium: { hex_key: KEY, peers: null } } };
  const theirs = (await decodeLikeGridClient(raw(light))).deployment;
  assert.equal(theirs.challenge(), `042cross00netlnetwork-light10.1.2.0/24${KEY}42false11`);
  assert.equal(challenge(deployment([light], { twin: 42, description: 'cross' })), `042cross00netlnetwork-light<nil>10.1.2.0/240${KEY}42false11`);
  // ipv4 (deprecated, no data): grid_client refuses to build it at all
  await assert.rejects(async () => (await decodeLikeGridClient(raw({ name: 'pub4', type: 'ipv4', data: {} }))).deployment.challenge());
});
