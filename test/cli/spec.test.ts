import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseSpec, loadSpecFile } from '../../bin/grid/spec.ts';
import { parseSize } from '../../lib/size.ts';
import { buildDeployment } from '../../bin/grid/build.ts';
import { CliError } from '../../bin/grid/errors.ts';
import { BIN } from '../helpers/grid.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

const sizes: Array<[unknown, number | null]> = [
  ['10GiB', 10 * GiB], ['512MiB', 512 * MiB], ['1G', GiB], ['2 gib', 2 * GiB], ['1.5GiB', 1.5 * GiB], ['4096', 4096], [1024, 1024],
  ['10GB', null], ['-1GiB', null], ['0', null], [0, null], ['GiB', null], [1.5, null], [true, null], ['0.3B', null],
];
for (const [input, want] of sizes) {
  test(`spec: size ${JSON.stringify(input)} -> ${want}`, () => assert.equal(parseSize(input), want));
}

const good = { node: 1, name: 'x', workloads: [{ name: 'disk', type: 'zmount', size: '10GiB' }, { name: 'data', type: 'volume', size: '512MiB' }] };

test('spec: a good file becomes zos workloads (disk is an alias of zmount)', () => {
  const spec = parseSpec({ ...good, workloads: [...good.workloads, { name: 'd2', type: 'disk', size: 1024 }] });
  assert.deepEqual(spec.workloads.map((w) => [w.name, w.type, w.data]), [
    ['disk', 'zmount', { size: 10 * GiB }], ['data', 'volume', { size: 512 * MiB }], ['d2', 'zmount', { size: 1024 }],
  ]);
  const dl = buildDeployment(spec, 7, 3);
  assert.equal(dl.twin_id, 7);
  assert.equal(dl.contract_id, 3);
  assert.deepEqual(dl.workloads.map((w) => w.name), ['d2', 'data', 'disk']);
  assert.equal(dl.metadata, '{"type":"zos-cli","name":"x"}');
});

const KEY = 'aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=';
const net = { name: 'net', type: 'network', ip_range: '10.20.0.0/16', subnet: '10.20.2.0/24', wireguard_private_key: KEY, wireguard_listen_port: 4567,
  peers: [{ subnet: '10.20.3.0/24', wireguard_public_key: KEY, allowed_ips: ['10.20.3.0/24'] }] };
const vm = { name: 'vm', type: 'zmachine', flist: 'http://198.18.0.2:8099/base.flist', network: 'net', ip: '10.20.2.5', memory: '256MiB', mounts: [{ name: 'disk', mountpoint: '/data' }], env: { SSH_KEY: 'ssh-ed25519 AAAA' } };

test('spec: network and zmachine become zos data (defaults filled: one vCPU, root size 0, no public IP)', () => {
  const spec = parseSpec({ node: 1, workloads: [good.workloads[0], net, vm] });
  assert.deepEqual(spec.workloads[1]!.data, {
    ip_range: '10.20.0.0/16', subnet: '10.20.2.0/24', wireguard_private_key: KEY, wireguard_listen_port: 4567,
    peers: [{ subnet: '10.20.3.0/24', wireguard_public_key: KEY, allowed_ips: ['10.20.3.0/24'], endpoint: '' }],
  });
  assert.deepEqual(spec.workloads[2]!.data, {
    flist: vm.flist, network: { public_ip: '', planetary: false, interfaces: [{ network: 'net', ip: '10.20.2.5' }] }, size: 0,
    compute_capacity: { cpu: 1, memory: 256 * MiB }, mounts: [{ name: 'disk', mountpoint: '/data' }], entrypoint: '', env: { SSH_KEY: 'ssh-ed25519 AAAA' }, corex: false,
  });
  assert.equal(buildDeployment(spec, 7, 3).workloads.map((w) => w.type).join(), 'zmount,network,zmachine');
});

const bad: Array<{ name: string; input: unknown; field: RegExp }> = [
  { name: 'a mount of a disk not in the file', input: { node: 1, workloads: [net, vm] }, field: /workloads\[1\]\.mounts\[0\]\.name: no zmount, disk or volume named "disk"/ },
  { name: 'a bad VM address', input: { node: 1, workloads: [good.workloads[0], net, { ...vm, ip: '10.20.2' }] }, field: /workloads\[2\]\.ip: expected an IPv4 address/ },
  { name: 'a bad WireGuard key', input: { node: 1, workloads: [{ ...net, wireguard_private_key: 'nope' }] }, field: /workloads\[0\]\.wireguard_private_key: expected a WireGuard key/ },
  { name: 'a VM without memory', input: { node: 1, workloads: [good.workloads[0], net, { ...vm, memory: undefined }] }, field: /workloads\[2\]\.memory: expected a size/ },
  { name: 'bad size', input: { ...good, workloads: [good.workloads[0], { name: 'data', type: 'volume', size: '512MB' }] }, field: /workloads\[1\]\.size: expected a size like 10GiB/ },
  { name: 'unknown type', input: { ...good, workloads: [{ name: 'vm', type: 'zmachine2', size: '1GiB' }] }, field: /workloads\[0\]\.type: unknown workload type "zmachine2" \(supported: zmount, disk, volume, network, zmachine\)/ },
  { name: 'missing type', input: { ...good, workloads: [{ name: 'vm', size: '1GiB' }] }, field: /workloads\[0\]\.type: required/ },
  { name: 'bad workload name', input: { ...good, workloads: [{ name: 'my disk', type: 'zmount', size: '1GiB' }] }, field: /workloads\[0\]\.name: unsupported character/ },
  { name: 'duplicate names', input: { ...good, workloads: [good.workloads[0], good.workloads[0]] }, field: /workloads\[1\]\.name: "disk" is already used by workloads\[0\]/ },
  { name: 'unknown workload field', input: { ...good, workloads: [{ ...good.workloads[0], sizee: 1 }] }, field: /workloads\[0\]: unknown field "sizee"/ },
  { name: 'unknown top-level field', input: { ...good, nodes: 2 }, field: /\(top level\): unknown field "nodes"/ },
  { name: 'node not a number', input: { ...good, node: 'one' }, field: /node: expected a node id/ },
  { name: 'no workloads', input: { node: 1, workloads: [] }, field: /workloads: at least one workload/ },
  { name: 'workloads missing', input: { node: 1 }, field: /workloads: required: a list of workloads/ },
  { name: 'not a mapping', input: ['x'], field: /\(top level\): expected a mapping/ },
];
for (const tc of bad) {
  test(`spec: rejects ${tc.name}, naming the field`, () => {
    assert.throws(() => parseSpec(tc.input), (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, tc.field);
      return true;
    });
  });
}

test('spec: every file in examples/ is valid', async () => {
  for (const f of ['disk.yaml', 'disks.yaml', 'volume.json']) {
    const spec = await loadSpecFile(new URL(`../../examples/${f}`, import.meta.url).pathname);
    assert.ok(spec.workloads.length > 0 && spec.name, f);
  }
});

test('spec: files that do not parse name the format and the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-cli-spec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cases: Array<[string, string, RegExp]> = [
    ['syntax.yaml', 'node: 1\nworkloads: [\n', /syntax\.yaml is not valid YAML/],
    ['syntax.json', '{"node": 1,', /syntax\.json is not valid JSON/],
    ['list.yaml', '- 1\n- 2\n', /\(top level\): expected a mapping/],
  ];
  for (const [file, text, re] of cases) {
    await writeFile(join(dir, file), text);
    await assert.rejects(loadSpecFile(join(dir, file)), (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message));
  }
  await assert.rejects(loadSpecFile(join(dir, 'missing.yaml')), /cannot read .*missing\.yaml: ENOENT/);
});

test('deploy: a bad file exits 2 with the field named, before any connection', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-cli-spec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cases: Array<[string, string, RegExp]> = [
    ['size.yaml', 'node: 1\nworkloads:\n  - {name: disk, type: zmount, size: 10GiB}\n  - {name: data, type: volume, size: lots}\n', /workloads\[1\]\.size: expected a size like 10GiB/],
    ['nonode.yaml', 'workloads:\n  - {name: disk, type: zmount, size: 1GiB}\n', /node: required/],
  ];
  for (const [file, text, re] of cases) {
    await writeFile(join(dir, file), text);
    // The chain URL points nowhere: validation must fail first.
    const r = await execa(BIN, ['deploy', join(dir, file), '--chain', 'ws://127.0.0.1:1', '--relay', 'ws://127.0.0.1:1', '--mnemonic', 'x', '--json'], { reject: false });
    assert.equal(r.exitCode, 2, `${file}: ${r.stderr}`);
    assert.match(String(r.stderr), re, file);
    const json = JSON.parse(String(r.stdout)) as { error: { code: string } };
    assert.equal(json.error.code, 'ERR_BAD_FILE');
  }
});

test('deploy: an unreachable chain says to start zos up and exits 1', async () => {
  const r = await execa(BIN, ['deploy', new URL('../../examples/disk.yaml', import.meta.url).pathname, '--chain', 'ws://127.0.0.1:1', '--relay', 'ws://127.0.0.1:1',
    '--mnemonic', 'bottom drive obey lake curtain smoke basket hold race lonely fit walk'], { reject: false });
  assert.equal(r.exitCode, 1);
  assert.match(String(r.stderr), /cannot reach the chain at ws:\/\/127\.0\.0\.1:1: connection refused/);
  assert.match(String(r.stderr), /is `zos devnet` or `zos up` running\? check --chain/);
  assert.equal(String(r.stdout), '');
});
