import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { challenge, hashHex, challengeHash, parseDeployment } from '../../../node/model/index.ts';
import { deployment, KEY32, key32Lower, type WorkloadInput } from './fixtures.ts';

const md5hex = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

test('challenge: the reference worked example hashes to e591100363fad5985f895762a3404a58', () => {
  const dl = deployment([{ name: 'disk', type: 'zmount', data: { size: 10737418240 } }]);
  // "0" version, "42" twin, "" metadata, "" description, "0" expiration,
  // "0" "disk" "zmount" "" "" "10737418240", then request "42" "false" "1" and weight_required "1", style "".
  const want = '04200diskzmount1073741824042false11';
  assert.equal(challenge(dl), want);
  assert.equal(hashHex(dl), 'e591100363fad5985f895762a3404a58');
  assert.equal(md5hex(want), 'e591100363fad5985f895762a3404a58');
  assert.equal(Buffer.from(challengeHash(dl)).toString('hex'), 'e591100363fad5985f895762a3404a58');
  assert.equal(challengeHash(dl).length, 16);
});

// One vector per workload type: the data challenge written out by hand from the reference table.
const gpu = '0000:28:00.0/1002/731f';
const vectors: { name: string; wl: WorkloadInput; data: string }[] = [
  { name: 'zmount', wl: { name: 'disk', type: 'zmount', data: { size: 1024 } }, data: '1024' },
  { name: 'volume', wl: { name: 'vol', type: 'volume', data: { size: 5 } }, data: '5' },
  {
    name: 'zdb',
    wl: { name: 'db', type: 'zdb', data: { size: 10, mode: 'user', password: 'pw', public: true } },
    data: '10userpwtrue',
  },
  { name: 'ip', wl: { name: 'pub', type: 'ip', data: { v4: true, v6: false } }, data: 'truefalse' },
  { name: 'ipv4 (nothing)', wl: { name: 'pub4', type: 'ipv4', data: {} }, data: '' },
  {
    name: 'zlogs',
    wl: { name: 'logs', type: 'zlogs', data: { zmachine: 'vm', output: 'redis://1.2.3.4:6379' } },
    data: 'vmredis://1.2.3.4:6379',
  },
  {
    name: 'gateway-name-proxy with network',
    wl: {
      name: 'gw',
      type: 'gateway-name-proxy',
      data: { name: 'site', tls_passthrough: false, backends: ['http://10.0.0.1:80', 'http://[2001:db8::1]'], network: 'net' },
    },
    data: 'sitefalsehttp://10.0.0.1:80http://[2001:db8::1]net',
  },
  {
    name: 'gateway-fqdn-proxy without network',
    wl: { name: 'gw', type: 'gateway-fqdn-proxy', data: { fqdn: 'a.example.com', tls_passthrough: true, backends: ['1.2.3.4:443'] } },
    data: 'a.example.comtrue1.2.3.4:443',
  },
  {
    name: 'network with peers and mycelium (hex lowercased, CIDRs canonical)',
    wl: {
      name: 'net',
      type: 'network',
      data: {
        ip_range: '10.1.0.0/16',
        subnet: '10.1.2.0/24',
        wireguard_private_key: 'KEY',
        wireguard_listen_port: 5000,
        peers: [
          {
            subnet: '10.1.3.0/24',
            wireguard_public_key: 'PUB',
            allowed_ips: ['10.1.3.0/24', '::ffff:100.64.1.3/128', '2001:DB8:0:0::/64'],
            endpoint: '1.2.3.4:5000',
          },
        ],
        mycelium: { hex_key: KEY32, peers: [] },
      },
    },
    data: '10.1.0.0/1610.1.2.0/24KEY5000PUB1.2.3.4:500010.1.3.0/2410.1.3.0/24100.64.1.3/322001:db8::/64' + key32Lower,
  },
  {
    name: 'network without mycelium and unset ip_range',
    wl: { name: 'net', type: 'network', data: { ip_range: '', subnet: '10.1.2.3/24', wireguard_private_key: 'K', wireguard_listen_port: 0, peers: null } },
    data: '<nil>10.1.2.3/24K0',
  },
  {
    name: 'network-light always hashes mycelium',
    wl: { name: 'net', type: 'network-light', data: { subnet: '10.1.2.0/24', mycelium: { hex_key: KEY32, peers: null } } },
    data: '<nil>10.1.2.0/240' + key32Lower,
  },
  {
    name: 'network-light with missing mycelium hashes an empty key',
    wl: { name: 'net', type: 'network-light', data: { subnet: '10.1.2.0/24' } },
    data: '<nil>10.1.2.0/240',
  },
  {
    name: 'zmachine (sorted env, no corex, mycelium, gpu)',
    wl: {
      name: 'vm',
      type: 'zmachine',
      data: {
        flist: 'https://hub.grid.tf/x.flist',
        network: {
          public_ip: 'pip',
          planetary: true,
          interfaces: [{ network: 'net', ip: '10.1.2.5' }],
          mycelium: { Network: 'net', hex_seed: 'A1B2C3D4E5F6' },
        },
        size: 0,
        compute_capacity: { cpu: 2, memory: 2147483648 },
        mounts: [{ name: 'disk', mountpoint: '/data' }],
        entrypoint: '/sbin/zinit init',
        env: { b: '2', A: '1', a: '0', SSH_KEY: 'ssh-ed25519 AAA' },
        corex: true,
        gpu: [gpu],
      },
    },
    data:
      'https://hub.grid.tf/x.flist' + 'pip' + 'true' + 'net10.1.2.5' + 'neta1b2c3d4e5f6' + '0' + '2' + '2147483648' +
      'disk/data' + '/sbin/zinit init' + 'A=1SSH_KEY=ssh-ed25519 AAAa=0b=2' + gpu,
  },
  {
    name: 'zmachine with an IPv6 interface, no mycelium, env keys in byte order',
    wl: {
      name: 'vm',
      type: 'zmachine',
      data: {
        flist: 'f',
        network: { public_ip: '', planetary: false, interfaces: [{ network: 'net', ip: '2001:DB8:0:0::5' }] },
        size: 3000,
        compute_capacity: { cpu: 1, memory: 268435456 },
        mounts: [],
        entrypoint: '',
        env: { '😀': 'x', '\uFF5E': 'y' },
        corex: false,
      },
    },
    // UTF-8 bytes: U+FF5E is EF BD 9E and sorts before U+1F600 (F0 9F ..), unlike UTF-16 order.
    data: 'f' + '' + 'false' + 'net2001:db8::5' + '3000' + '1' + '268435456' + '\uFF5E=y😀=x',
  },
  {
    name: 'zmachine-light',
    wl: {
      name: 'vm',
      type: 'zmachine-light',
      data: {
        flist: 'f',
        network: { interfaces: [{ network: 'net', ip: '::ffff:10.1.2.5' }], mycelium: { network: 'net', hex_seed: '010203040506' } },
        size: 0,
        compute_capacity: { cpu: 1, memory: 1073741824 },
        mounts: [{ name: 'd', mountpoint: '/d' }],
        entrypoint: 'e',
        env: {},
        corex: false,
        gpu: null,
      },
    },
    data: 'f' + 'net10.1.2.5' + 'net010203040506' + '0' + '1' + '1073741824' + 'd/d' + 'e',
  },
  {
    name: 'qsfs',
    wl: {
      name: 'fs',
      type: 'qsfs',
      data: {
        cache: 1073741824,
        config: {
          minimal_shards: 2,
          expected_shards: 4,
          redundant_groups: 0,
          redundant_nodes: 0,
          max_zdb_data_dir_size: 32,
          encryption: { algorithm: 'AES', key: 'AA'.repeat(32) },
          meta: {
            type: 'zdb',
            config: {
              prefix: 'pre',
              encryption: { algorithm: 'AES', key: 'bb'.repeat(32) },
              backends: [{ address: '[2001:db8::1]:9900', namespace: 'ns1', password: 'p1' }],
            },
          },
          groups: [
            {
              backends: [
                { address: 'a:1', namespace: 'n2', password: 'p2' },
                { address: 'b:2', namespace: 'n3', password: 'p3' },
              ],
            },
          ],
          compression: { algorithm: 'snappy' },
        },
      },
    },
    data:
      '1073741824' + '2' + '4' + '0' + '0' + '32' + 'AES' + 'aa'.repeat(32) + 'zdb' + 'pre' + 'AES' + 'bb'.repeat(32) +
      '[2001:db8::1]:9900ns1p1' + 'a:1n2p2b:2n3p3' + 'snappy',
  },
];

for (const v of vectors) {
  test(`challenge: ${v.name} hashes as written out by hand`, () => {
    const dl = deployment([v.wl], { twin: 42 });
    const want = `0420` + `0${v.wl.name}${v.wl.type}` + v.data + '42false11';
    assert.equal(challenge(dl), want);
    assert.equal(hashHex(dl), md5hex(want));
  });
}

test('challenge: deployment fields, several workloads and requests, polka style', () => {
  const dl = deployment(
    [
      { name: 'a', type: 'zmount', data: { size: 1 }, version: 2, metadata: 'm', description: 'd' },
      { name: 'b', type: 'ip', data: { v4: false, v6: true }, version: 3 },
    ],
    {
      version: 3,
      twin: 7,
      metadata: '{"type":"vm"}',
      description: 'hello',
      requests: [
        { twin_id: 7, required: true, weight: 2 },
        { twin_id: 8, required: false, weight: 1 },
      ],
      weight_required: 2,
      style: 'polka-wallet',
    },
  );
  const want = '37{"type":"vm"}hello0' + '2azmountmd1' + '3bipfalsetrue' + '7true28false12polka-wallet';
  assert.equal(challenge(dl), want);
  assert.equal(hashHex(dl), md5hex(want));
});

test('challenge: contract_id, results, signatures and corex do not change the hash', () => {
  const base = deployment([{ name: 'vm', type: 'zmachine-light', data: { flist: 'f', network: { interfaces: [{ network: 'n', ip: '10.0.0.2' }] }, compute_capacity: { cpu: 1, memory: 1 << 30 }, corex: false } }]);
  const h = hashHex(base);
  const changed = structuredClone(base);
  changed.contract_id = 999;
  changed.signature_requirement.signatures.push({ twin_id: 42, signature: 'aa', signature_type: 'ed25519' });
  changed.workloads[0]!.result = { created: 5, state: 'ok', message: 'x', data: { id: 'y' } };
  (changed.workloads[0]!.data as { corex: boolean }).corex = true;
  assert.equal(hashHex(changed), h);
});

test('challenge: expiration as an ISO-8601 date hashes as unix seconds', () => {
  const mk = (expiration: unknown) =>
    parseDeployment({ twin_id: 1, expiration, signature_requirement: { requests: [] }, workloads: [] });
  assert.equal(challenge(mk('1970-01-01T00:01:40Z')), '0' + '1' + '100' + '0');
  assert.equal(challenge(mk(100)), '0' + '1' + '100' + '0');
});

test('challenge: undecodable workload data is an error, not a hash', () => {
  const dl = deployment([{ name: 'disk', type: 'zmount', data: { size: 'big' } }]);
  assert.throws(() => challenge(dl), /failed to load data into object of type '\*zos.ZMount'/);
});
