import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  diffUpgrade,
  installOrder,
  networkId,
  parseWorkloadId,
  uninstallOrder,
  uniqueName,
  workloadId,
  type Deployment,
} from '../../../node/model/index.ts';
import { ZosError } from '../../../node/errors.ts';
import { deployment, type WorkloadInput } from './fixtures.ts';

const disk = (name: string, size: number, version = 0): WorkloadInput => ({ name, type: 'zmount', data: { size }, version });
const net = (version = 0): WorkloadInput => ({ name: 'net', type: 'network', data: { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24', wireguard_private_key: 'k' }, version });
const vm = (version = 0, cpu = 1): WorkloadInput => ({
  name: 'vm',
  type: 'zmachine',
  version,
  data: { flist: 'f', network: { interfaces: [{ network: 'net', ip: '10.1.1.2' }] }, compute_capacity: { cpu, memory: 1 << 30 } },
});

function stored(): Deployment {
  const d = deployment([disk('a', 1), disk('b', 1), net(), vm()]);
  d.workloads[0]!.result = { created: 1, state: 'ok', message: '', data: { volume_id: '42-7-a' } };
  return d;
}

test('upgrade: sorts names into add, update, unchanged and remove', () => {
  const next = deployment([disk('a', 2, 1), net(), vm(), disk('c', 1, 1)], { version: 1 });
  const plan = diffUpgrade(stored(), next);
  assert.deepEqual(plan.add.map((w) => w.name), ['c']);
  assert.deepEqual(plan.update.map((w) => w.name), ['a']);
  assert.deepEqual(plan.unchanged.map((w) => w.name), ['net', 'vm']);
  assert.deepEqual(plan.remove.map((w) => w.name), ['b']);
  // an update carries the new data and the stored result
  assert.deepEqual(plan.update[0]!.data, { size: 2 });
  assert.equal(plan.update[0]!.result.state, 'ok');
});

const invalid: [string, () => Deployment, string][] = [
  ['version skipped', () => deployment([disk('a', 1)], { version: 2 }), 'expecting deployment version 1, got 2: upgrade validation error'],
  ['same version', () => deployment([disk('a', 1)], { version: 0 }), 'expecting deployment version 1, got 0: upgrade validation error'],
  ['other contract', () => deployment([disk('a', 1)], { version: 1, contract: 8 }), 'cannot change deployment or twin id: upgrade validation error'],
  ['other twin', () => deployment([disk('a', 1)], { version: 1, twin: 43 }), 'cannot change deployment or twin id: upgrade validation error'],
  ['new name at old version', () => deployment([disk('a', 1), disk('c', 1, 0)], { version: 1 }), "invalid version number for workload 'c' expected '1': upgrade validation error"],
  ['changed type', () => deployment([{ name: 'a', type: 'volume', data: { size: 1 }, version: 1 }], { version: 1 }), "cannot change workload type 'a': upgrade validation error"],
  ['zmachine updated', () => deployment([net(), vm(1, 2)], { version: 1 }), "workload 'zmachine' does not support upgrade: upgrade validation error"],
  ['invalid new deployment', () => deployment([disk('a', 0, 1)], { version: 1 }), 'new deployment is invalid: invalid size: upgrade validation error'],
];

for (const [name, next, want] of invalid) {
  test(`upgrade: rejects ${name}`, () => {
    assert.throws(() => diffUpgrade(stored(), next()), (e) => ZosError.is(e, 'UPGRADE_INVALID') && e.message === want);
  });
}

test('upgrade: zmount, volume, zdb, network, network-light and qsfs accept updates', () => {
  const types: WorkloadInput[] = [
    { name: 'z', type: 'zmount', data: { size: 1 } },
    { name: 'v', type: 'volume', data: { size: 1 } },
    { name: 'd', type: 'zdb', data: { size: 1, mode: 'user' } },
    net(),
    { name: 'nl', type: 'network-light', data: { subnet: '10.2.1.0/24', mycelium: { hex_key: 'ab'.repeat(32) } } },
    { name: 'q', type: 'qsfs', data: { cache: 1 } },
  ];
  const old = deployment(types);
  const next = deployment(types.map((w) => ({ ...w, version: 1 })), { version: 1 });
  assert.equal(diffUpgrade(old, next).update.length, types.length);
});

test('order: zmounts then volumes largest first, then qsfs, network, ipv4, ip, zmachine, zlogs, rest', () => {
  const d = deployment([
    { name: 'gw', type: 'gateway-name-proxy', data: { name: 'x', backends: ['http://1.2.3.4'] } },
    { name: 'logs', type: 'zlogs', data: { zmachine: 'vm', output: 'ws://x' } },
    vm(),
    { name: 'pub', type: 'ip', data: { v4: true } },
    { name: 'pub4', type: 'ipv4', data: {} },
    net(),
    { name: 'fs', type: 'qsfs', data: { cache: 1 } },
    { name: 'vsmall', type: 'volume', data: { size: 1 } },
    { name: 'vbig', type: 'volume', data: { size: 9 } },
    disk('small', 1),
    disk('big', 100),
    { name: 'db', type: 'zdb', data: { size: 1, mode: 'user' } },
  ]);
  const want = ['big', 'small', 'vbig', 'vsmall', 'fs', 'net', 'pub4', 'pub', 'vm', 'logs', 'gw', 'db'];
  assert.deepEqual(installOrder(d.workloads).map((w) => w.name), want);
  assert.deepEqual(uninstallOrder(d.workloads).map((w) => w.name), [...want].reverse());
});

// An independent base58 (bitcoin alphabet) to check the ids against.
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(bytes: Buffer): string {
  let n = BigInt('0x' + bytes.toString('hex'));
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = '1' + out;
  }
  return out;
}
const md5 = (s: string) => createHash('md5').update(s).digest();

test('ids: workload id, Unique() and NetworkID are base58(md5(...)) cut to 13', () => {
  const wlid = workloadId(42, 7, 'vm');
  assert.equal(wlid, '42-7-vm');
  assert.deepEqual(parseWorkloadId('42-7-my_vm'), { twin: 42, contract: 7, name: 'my_vm' });
  assert.equal(parseWorkloadId('x-7-vm'), undefined);
  for (const n of ['net', 'ygg', 'mycelium', 'pub']) {
    assert.equal(uniqueName(wlid, n), base58(md5(`42-7-vm:${n}`)).slice(0, 13));
    assert.equal(uniqueName(wlid, n).length, 13);
  }
  assert.equal(networkId(42, 'net'), base58(md5('42:net')).slice(0, 13));
});
