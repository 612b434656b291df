import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIP, formatIPNet, parseIP, parseIPNet } from '../../../node/model/goformat.ts';

// Expected outputs are what Go's net.ParseIP(s).String() / net.ParseCIDR + IPNet.String() print.
const ips: [string, string | null][] = [
  ['192.168.1.1', '192.168.1.1'],
  ['0.0.0.0', '0.0.0.0'],
  ['::ffff:192.168.1.1', '192.168.1.1'],
  ['::FFFF:c0a8:0101', '192.168.1.1'],
  ['::1.2.3.4', '::102:304'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['0:0:0:0:0:0:0:0', '::'],
  ['::', '::'],
  ['::1', '::1'],
  ['1::', '1::'],
  ['FE80::ABCD', 'fe80::abcd'],
  ['010.1.1.1', null],
  ['1.2.3', null],
  ['1.2.3.256', null],
  ['fe80::1%eth0', null],
  ['1:2:3:4:5:6:7:8:9', null],
  ['1:2:3:4:5:6:7::8', null],
  ['1::2::3', null],
  [':1', null],
  ['1:', null],
  ['12345::', null],
  ['::1.2.3.4.5', null],
  ['1:2:3:4:5:6:7:1.2.3.4', null],
  ['hello', null],
];

for (const [input, want] of ips) {
  test(`goformat: net.IP ${JSON.stringify(input)} prints ${want ?? 'as a parse error'}`, () => {
    const ip = parseIP(input);
    if (want === null) assert.equal(ip, null);
    else assert.equal(formatIP(ip), want);
  });
}

test('goformat: an unset IP and IPNet print <nil>', () => {
  assert.equal(formatIP(null), '<nil>');
  assert.equal(formatIPNet(null), '<nil>');
});

const cidrs: [string, string | null][] = [
  ['10.1.0.0/16', '10.1.0.0/16'],
  ['10.1.2.3/16', '10.1.2.3/16'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['100.64.1.3/32', '100.64.1.3/32'],
  ['2001:DB8::1/64', '2001:db8::1/64'],
  ['::/0', '::/0'],
  ['::ffff:10.1.2.3/120', '10.1.2.3/24'],
  ['::ffff:10.1.2.3/64', '10.1.2.3/0'],
  ['10.0.0.0/33', null],
  ['::/129', null],
  ['10.0.0.0', null],
  ['10.0.0.0/-1', null],
  ['10.0.0.0/a', null],
  ['10.0.0.0/', null],
];

for (const [input, want] of cidrs) {
  test(`goformat: IPNet ${JSON.stringify(input)} prints ${want ?? 'as a parse error'}`, () => {
    const n = parseIPNet(input);
    if (want === null) assert.equal(n, null);
    else assert.equal(formatIPNet(n), want);
  });
}
