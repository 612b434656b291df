import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkInterface, checkLocation, isTimestampHintValid, isValidIp4Config, isValidIp6Config, isValidRelay, parseIp6,
} from '../../chain/devnet/pallets/tfgrid/validate.ts';

const ip4: Array<[string, string, boolean]> = [
  ['185.206.122.33/24', '185.206.122.1', true],
  ['1.1.1.2/30', '1.1.1.1', true],
  ['185.206.122.33/24', '185.206.122.0', false],
  ['185.206.122.33/24', '185.206.123.1', false],
  ['10.1.1.2/24', '10.1.1.1', false],
  ['172.16.0.2/24', '172.16.0.1', false],
  ['100.64.0.2/24', '100.64.0.1', false],
  ['127.0.0.2/8', '127.0.0.1', false],
  ['224.0.0.2/24', '224.0.0.1', false],
  ['185.206.122.33/33', '185.206.122.1', false],
  ['185.206.122.256/24', '185.206.122.1', false],
  ['185.206.122.33/24', '', false],
];
for (const [ip, gw, valid] of ip4) {
  test(`tfgrid validate: IPv4 ${ip} via ${JSON.stringify(gw)} is ${valid ? 'valid' : 'invalid'}`, () => {
    assert.equal(isValidIp4Config(ip, gw), valid);
  });
}

const ip6: Array<[string, string, boolean]> = [
  ['2a02:1802:5e::40/64', '2a02:1802:5e::1', true],
  ['2a02:1802:5e:0:0:0:0:40/64', 'fe80::1', false],
  ['2a02:1802:5e::40/64', '2a02:1802:5e::40', false],
  ['fd00::2/64', 'fd00::1', false],
  ['2001:db8::2/64', '2001:db8::1', false],
  ['ff02::2/64', 'ff02::1', false],
  ['2a02:1802:5e::40', '2a02:1802:5e::1', false],
  ['2a02:::40/64', '2a02::1', false],
];
for (const [ip, gw, valid] of ip6) {
  test(`tfgrid validate: IPv6 ${ip} via ${gw} is ${valid ? 'valid' : 'invalid'}`, () => {
    assert.equal(isValidIp6Config(ip, gw), valid);
  });
}

test('tfgrid validate: IPv6 parsing expands :: and dotted IPv4 tails', () => {
  assert.equal(parseIp6('::1'), 1n);
  assert.equal(parseIp6('::ffff:1.2.3.4'), 0xffff01020304n);
  assert.equal(parseIp6('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n);
  assert.equal(parseIp6('1:2:3:4:5:6:7:8:9'), null);
  assert.equal(parseIp6('1::2::3'), null);
});

const coordinates: Array<[string, string, string | null]> = [
  ['51.05', '3.71', null],
  ['-90', '180', null],
  ['+1.5e1', '-.5', null],
  ['Unknown', 'Unknown', null],
  ['90.0001', '0', 'InvalidLatitudeInput'],
  ['0x10', '0', 'InvalidLatitudeInput'],
  [' 1', '0', 'InvalidLatitudeInput'],
  ['0', '180.1', 'InvalidLongitudeInput'],
  ['0', 'unknown', 'InvalidLongitudeInput'],
];
for (const [latitude, longitude, error] of coordinates) {
  test(`tfgrid validate: coordinates ${latitude}, ${longitude} give ${error ?? 'no error'}`, () => {
    assert.equal(checkLocation({ city: 'Ghent', country: 'BE', latitude, longitude }), error);
  });
}

const interfaces: Array<[string, { name: string; mac: string; ips: string[] }, string | null]> = [
  ['a zos bridge', { name: 'zos', mac: '00:25:90:b8:1d:2a', ips: ['10.0.0.2', '2a02:1802:5e::40'] }, null],
  ['dash separators', { name: 'eth-0', mac: '00-25-90-B8-1D-2A', ips: [] }, null],
  ['mixed separators', { name: 'eth0', mac: '00:25-90:b8:1d:2a', ips: [] }, 'InvalidMacAddress'],
  ['an 18-character MAC', { name: 'eth0', mac: '00:25:90:b8:1d:2a:', ips: [] }, 'InterfaceMacTooLong'],
  ['a 21-character name', { name: 'e'.repeat(21), mac: '00:25:90:b8:1d:2a', ips: [] }, 'InterfaceNameTooLong'],
  ['a CIDR as IP', { name: 'eth0', mac: '00:25:90:b8:1d:2a', ips: ['10.0.0.2/24'] }, 'InvalidInterfaceIP'],
  ['eleven IPs', { name: 'eth0', mac: '00:25:90:b8:1d:2a', ips: Array(11).fill('10.0.0.2') }, 'InvalidInterfaceIP'],
];
for (const [what, i, error] of interfaces) {
  test(`tfgrid validate: interface with ${what} gives ${error ?? 'no error'}`, () => {
    assert.equal(checkInterface(i), error);
  });
}

test('tfgrid validate: relay labels and timestamp hint drift', () => {
  assert.ok(isValidRelay('a.b-c.d_e'));
  assert.ok(!isValidRelay('a..b'));
  assert.ok(isTimestampHintValid(100n, 160));
  assert.ok(!isTimestampHintValid(99n, 160));
  assert.ok(isTimestampHintValid(0n, 30), 'near the epoch the lower bound saturates at 0');
  assert.ok(!isTimestampHintValid(1n << 64n, 160));
});
