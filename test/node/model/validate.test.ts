import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challenge, GiB, MiB, validateDeployment, workloadTypes, parseWorkloadData, type WorkloadType } from '../../../node/model/index.ts';
import { ZosError } from '../../../node/errors.ts';
import { deployment, KEY32, type WorkloadInput } from './fixtures.ts';

const vm = (over: Record<string, unknown> = {}, network: Record<string, unknown> = {}) => ({
  flist: 'f',
  network: { public_ip: '', planetary: false, interfaces: [{ network: 'net', ip: '10.1.1.2' }], ...network },
  size: 0,
  compute_capacity: { cpu: 1, memory: 1 * GiB },
  mounts: [],
  entrypoint: '',
  env: {},
  corex: false,
  ...over,
});
const gw = (over: Record<string, unknown>) => ({ name: 'site', tls_passthrough: false, backends: ['http://1.2.3.4'], ...over });

// [case, workload type, data, expected zos error text or undefined for valid]
const cases: [string, WorkloadType, unknown, string | undefined][] = [
  ['zmount size 0', 'zmount', { size: 0 }, 'invalid size'],
  ['volume size missing', 'volume', {}, 'invalid size'],
  ['zdb bad mode', 'zdb', { size: 1, mode: 'fast' }, 'invalid mode'],
  ['zdb seq ok', 'zdb', { size: 1, mode: 'seq' }, undefined],
  ['ip neither', 'ip', { v4: false, v6: false }, 'public ip workload with no selections'],
  ['ip v6 only', 'ip', { v6: true }, undefined],
  ['ipv4 null data', 'ipv4', null, undefined],
  ['network no range', 'network', { subnet: '10.1.1.0/24', wireguard_private_key: 'k' }, 'network IP range cannot be empty'],
  ['network no subnet', 'network', { ip_range: '10.1.0.0/16', wireguard_private_key: 'k' }, 'network resource subnet cannot empty'],
  ['network no key', 'network', { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24' }, 'network resource wireguard private key cannot empty'],
  ['network peer without allowed ips', 'network', { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24', wireguard_private_key: 'k', peers: [{ subnet: '10.1.2.0/24', wireguard_public_key: 'p' }] }, 'peer wireguard allowedIPs cannot empty'],
  ['network mycelium short key', 'network', { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24', wireguard_private_key: 'k', mycelium: { hex_key: 'abcd' } }, 'invalid mycelium key length, expected 32'],
  ['network mycelium peers', 'network', { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24', wireguard_private_key: 'k', mycelium: { hex_key: KEY32, peers: ['tcp://x'] } }, 'user defined peers list is not supported right now'],
  ['network-light without mycelium', 'network-light', { subnet: '10.1.1.0/24' }, 'invalid mycelium key length, expected 32'],
  ['network-light ok', 'network-light', { subnet: '10.1.1.0/24', mycelium: { hex_key: KEY32 } }, undefined],
  ['zmachine two interfaces', 'zmachine', vm({}, { interfaces: [{ network: 'a', ip: '10.0.0.2' }, { network: 'b', ip: '10.0.1.2' }] }), 'only one network private network is supported at the moment'],
  ['zmachine no ip', 'zmachine', vm({}, { interfaces: [{ network: 'net', ip: '' }] }), 'invalid IP'],
  ['zmachine cpu 0', 'zmachine', vm({ compute_capacity: { cpu: 0, memory: GiB } }), "cpu capacity can't be 0"],
  ['zmachine small memory', 'zmachine', vm({ compute_capacity: { cpu: 1, memory: 250 * MiB - 1 } }), "mem capacity can't be less that 250M"],
  ['zmachine small disk', 'zmachine', vm({ size: 100 * MiB }), `disk size can't be less that ${500 * MiB}. Set to 0 for minimum`],
  ['zmachine small disk, big machine', 'zmachine', vm({ size: GiB, compute_capacity: { cpu: 4, memory: 2 * GiB } }), `disk size can't be less that ${2 * GiB}. Set to 0 for minimum`],
  ['zmachine reserved network', 'zmachine', vm({}, { interfaces: [{ network: 'ygg', ip: '10.0.0.2' }] }), "'ygg' is reserved network name"],
  ['zmachine mycelium seed length', 'zmachine', vm({}, { mycelium: { Network: 'net', hex_seed: 'aabb' } }), 'invalid mycelium seed length expected 6 bytes'],
  ['zmachine missing public ip', 'zmachine', vm({}, { public_ip: 'nope' }), 'public ip is not found'],
  ['zmachine-light ok', 'zmachine-light', { flist: 'f', network: { interfaces: [{ network: 'n', ip: '10.0.0.2' }] }, compute_capacity: { cpu: 1, memory: GiB } }, undefined],
  ['name proxy bad name', 'gateway-name-proxy', gw({ name: 'a.b' }), 'name a.b is invalid'],
  ['name proxy no backends', 'gateway-name-proxy', gw({ backends: [] }), 'backends list can not be empty'],
  ['name proxy https backend', 'gateway-name-proxy', gw({ backends: ['https://1.2.3.4'] }), "failed to validate backend 'https://1.2.3.4': scheme expected to be http"],
  ['name proxy loopback', 'gateway-name-proxy', gw({ backends: ['http://127.0.0.1:80'] }), "failed to validate backend 'http://127.0.0.1:80': invalid ip address in backend: 127.0.0.1"],
  ['name proxy hostname backend', 'gateway-name-proxy', gw({ backends: ['http://example.com'] }), "failed to validate backend 'http://example.com': invalid ip address in backend: example.com"],
  ['name proxy ipv6 backend', 'gateway-name-proxy', gw({ backends: ['http://[2001:db8::1]:8080'] }), undefined],
  ['passthrough without port', 'gateway-name-proxy', gw({ tls_passthrough: true, backends: ['1.2.3.4'] }), "failed to validate backend '1.2.3.4': failed to parse backend 1.2.3.4 with error: failed to parse backend 1.2.3.4 with error: address 1.2.3.4: missing port in address"],
  ['passthrough port too big', 'gateway-name-proxy', gw({ tls_passthrough: true, backends: ['1.2.3.4:70000'] }), "failed to validate backend '1.2.3.4:70000': failed to parse backend 1.2.3.4:70000 with error: port '70000' must be <= 65535"],
  ['passthrough ipv6', 'gateway-name-proxy', gw({ tls_passthrough: true, backends: ['[2001:db8::1]:443'] }), undefined],
  ['fqdn proxy bad fqdn', 'gateway-fqdn-proxy', { fqdn: 'localhost', backends: ['http://1.2.3.4'] }, 'fqdn localhost is invalid'],
  ['fqdn proxy ok', 'gateway-fqdn-proxy', { fqdn: 'my.example.com', backends: ['http://1.2.3.4'] }, undefined],
  ['qsfs shards', 'qsfs', { cache: 1, config: { minimal_shards: 5, expected_shards: 4 } }, "minimal shards can't be greater than expected shards"],
  ['zlogs bad scheme', 'zlogs', { zmachine: 'vm', output: 'http://x' }, "invalid output schema 'http' not supported"],
  ['zlogs missing vm', 'zlogs', { zmachine: 'other', output: 'ws://x' }, "no zmachine with name 'other' found"],
];

for (const [name, type, data, want] of cases) {
  test(`validate: ${name} → ${want ?? 'valid'}`, () => {
    // Each case sits next to a valid zmachine 'vm' so dependency lookups have something to find.
    const workloads: WorkloadInput[] = [{ name: 'x', type, data }];
    if (type !== 'zmachine') workloads.push({ name: 'vm', type: 'zmachine', data: vm() });
    const dl = deployment(workloads);
    if (want === undefined) return validateDeployment(dl);
    assert.throws(() => validateDeployment(dl), (e) => ZosError.is(e, 'INVALID_DEPLOYMENT') && e.message === want);
  });
}

test('validate: deployment-level rules in zos order with zos texts', () => {
  const disk = (name: string, version = 0) => ({ name, type: 'zmount', data: { size: 1 }, version });
  const rules: [string, WorkloadInput[], string][] = [
    ['version above deployment', [disk('a', 1)], "workload 'a' version '1' cannot be higher than deployment version '0'"],
    ['empty name', [disk('')], "name '' is invalid: name cannot be empty"],
    ['bad character', [disk('a-b')], "name 'a-b' is invalid: unsupported character in workload name"],
    ['too long', [disk('a'.repeat(37))], `name '${'a'.repeat(37)}' is invalid: name cannot exceed 36 characters`],
    ['reserved', [disk('ygg')], "name 'ygg' is invalid: invalid name 'ygg' is reserved"],
    ['duplicate', [disk('a'), disk('a')], "multiple workloads with the same name 'a'"],
    ['unknown type', [{ name: 'a', type: 'teapot', data: {} }], "invalid reservation type 'teapot'"],
    ['missing data', [{ name: 'a', type: 'zmount', data: undefined }], "failed to load data into object of type '*zos.ZMount': unexpected end of JSON input"],
    ['negative size', [{ name: 'a', type: 'volume', data: { size: -1 } }], "failed to load data into object of type '*zos.Volume': size: Too small: expected number to be >=0"],
    ['bad ip', [{ name: 'a', type: 'zmachine', data: vm({}, { interfaces: [{ network: 'n', ip: '10.0.0.256' }] }) }], "failed to load data into object of type '*zos.ZMachine': network.interfaces[0].ip: invalid IP address: 10.0.0.256"],
  ];
  for (const [name, wls, want] of rules) {
    assert.throws(() => validateDeployment(deployment(wls)), (e) => ZosError.is(e, 'INVALID_DEPLOYMENT') && e.message === want, name);
  }
  // Go's json.Unmarshal ignores unknown keys (grid_client sends `__type`): accepted, and not hashed.
  const withExtra = deployment([{ name: 'a', type: 'zmount', data: { size: 1, __type: 'zmount', color: 'red' } }]);
  assert.doesNotThrow(() => validateDeployment(withExtra));
  assert.equal(challenge(withExtra), challenge(deployment([{ name: 'a', type: 'zmount', data: { size: 1 } }])));
});

test('validate: a public ip must be an ip workload used by one vm only', () => {
  const pub = { name: 'pub', type: 'ip', data: { v4: true } };
  const vmOn = (name: string, publicIp: string) => ({ name, type: 'zmachine', data: vm({}, { public_ip: publicIp }) });
  validateDeployment(deployment([pub, vmOn('vm1', 'pub')]));
  assert.throws(() => validateDeployment(deployment([pub, vmOn('vm1', 'pub'), vmOn('vm2', 'pub')])), /public ip is assigned to multiple vms/);
  assert.throws(() => validateDeployment(deployment([{ name: 'd', type: 'zmount', data: { size: 1 } }, vmOn('vm1', 'd')])), /workload of name 'd' is not a public ip/);
});

test('validate: Go JSON decoding — null is zero, keys match case-insensitively, mycelium Network untagged', () => {
  const d = parseWorkloadData({ type: 'zmachine', data: vm({ env: null, mounts: null, gpu: null }, { mycelium: { network: 'net', HEX_SEED: 'aabbccddeeff' } }) }) as unknown as {
    env: object;
    network: { mycelium: { Network: string; hex_seed: Uint8Array } };
  };
  assert.deepEqual(d.env, {});
  assert.equal(d.network.mycelium.Network, 'net');
  assert.equal(Buffer.from(d.network.mycelium.hex_seed).toString('hex'), 'aabbccddeeff');
  assert.deepEqual(parseWorkloadData({ type: 'zmount', data: { SIZE: 5 } }), { size: 5 });
  assert.deepEqual(parseWorkloadData({ type: 'zmount', data: null }), { size: 0 });
});

// Capacity per the reference formulas.
const capacities: [string, WorkloadType, unknown, object][] = [
  ['zmount', 'zmount', { size: 7 }, { sru: 7 }],
  ['volume', 'volume', { size: 8 }, { sru: 8 }],
  ['zdb', 'zdb', { size: 9, mode: 'user' }, { hru: 9 }],
  ['ip v4', 'ip', { v4: true, v6: true }, { ipv4u: 1 }],
  ['ip v6 only', 'ip', { v6: true }, {}],
  ['ipv4', 'ipv4', {}, { ipv4u: 1 }],
  ['network', 'network', {}, {}],
  ['name proxy', 'gateway-name-proxy', {}, {}],
  ['qsfs', 'qsfs', { cache: 100 }, { cru: 1, mru: GiB, sru: 100 }],
  ['small vm: MinRoot 500 MiB', 'zmachine', vm({ compute_capacity: { cpu: 1, memory: GiB } }), { cru: 1, mru: GiB, sru: 500 * MiB }],
  ['cpu*mem reaches 8 GiB: MinRoot 2 GiB', 'zmachine', vm({ compute_capacity: { cpu: 4, memory: 2 * GiB } }), { cru: 4, mru: 2 * GiB, sru: 2 * GiB }],
  ['size above MinRoot', 'zmachine-light', { flist: 'f', network: { interfaces: [] }, size: 10 * GiB, compute_capacity: { cpu: 2, memory: 4 * GiB } }, { cru: 2, mru: 4 * GiB, sru: 10 * GiB }],
];

for (const [name, type, data, want] of capacities) {
  test(`capacity: ${name}`, () => {
    const model = workloadTypes[type] as unknown as { capacity(d: unknown): object };
    const got = model.capacity(parseWorkloadData({ type, data }));
    assert.deepEqual(got, { cru: 0, mru: 0, sru: 0, hru: 0, ipv4u: 0, ...want });
  });
}
