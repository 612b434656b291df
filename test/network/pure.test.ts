import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkId } from '../../node/model/ids.ts';
import { containsNet, convert4to6, formatCidr4, gatewayOf, overlaps, parseCidr4, parseIPv4, wgIpOf } from '../../node/host/network/addr.ts';
import { nrNames, tapName } from '../../node/host/network/names.ts';
import { nrRuleset } from '../../node/host/network/nft.ts';
import { checkWgConfig, parseWgKey, renderWgConfig } from '../../node/host/network/wgconf.ts';

test('addresses: zos vectors (NetID, Convert4to6, wgIP) and subnet arithmetic', () => {
  // zos-workloads-net-vm.md: twin 42, net1 => NetID 7aH1SRREnwwbr, gw6 fd37:6148:3153:2::1, VM 10.20.2.5 => ...::5.
  const id = networkId(42, 'net1');
  assert.equal(id, '7aH1SRREnwwbr');
  assert.equal(convert4to6(id, parseIPv4('10.20.2.1')!), 'fd37:6148:3153:2::1');
  assert.equal(convert4to6(id, parseIPv4('10.20.2.5')!), 'fd37:6148:3153:2::5');
  assert.equal(convert4to6(id, parseIPv4('10.20.0.5')!), 'fd37:6148:3153::5', 'a zero octet compresses like Go');
  assert.equal(formatCidr4(wgIpOf(parseCidr4('10.20.2.0/24')!)), '100.64.20.2/16');
  assert.equal(formatCidr4(gatewayOf(parseCidr4('10.20.2.77/24')!)), '10.20.2.1/24', 'zos keeps IPNet unmasked; the gateway is the network .1');
  assert.ok(containsNet(parseCidr4('10.20.0.0/16')!, parseCidr4('10.20.2.0/24')!));
  assert.ok(!containsNet(parseCidr4('10.20.0.0/16')!, parseCidr4('10.21.2.0/24')!));
  assert.ok(overlaps(parseCidr4('10.20.2.0/25')!, parseCidr4('10.20.2.0/24')!));
  assert.equal(parseCidr4('10.20.2.0/33'), null);
  assert.equal(parseCidr4('fd00::/64'), null);
});

test('host names: zos prefixes, at most 15 characters, unique per node salt', () => {
  const a = nrNames('salt-a', '7aH1SRREnwwbr');
  const b = nrNames('salt-b', '7aH1SRREnwwbr');
  for (const n of [...Object.values(a), tapName('salt-a', 'x')]) assert.ok(n.length <= 15, n);
  assert.match(a.ns, /^n-/);
  assert.match(a.bridge, /^b-/);
  assert.match(a.wg, /^w-/);
  assert.notEqual(a.wg, b.wg, 'two nodes on one host never share a wireguard-go socket name');
  assert.deepEqual(nrNames('salt-a', '7aH1SRREnwwbr'), a, 'stable across restarts');
});

test('WireGuard keys: Go wgtypes/base64 error texts; config for wg syncconf', () => {
  const key = Buffer.alloc(32, 1).toString('base64');
  assert.deepEqual(parseWgKey(key), { key: Buffer.alloc(32, 1) });
  const err = (s: string) => (parseWgKey(s) as { error: string }).error;
  assert.equal(err('abc'), 'wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte 0');
  assert.equal(err('abcd-fgh'), 'wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte 4');
  assert.equal(err('abcde'), 'wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte 4');
  assert.equal(err('a==='), 'wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte 1');
  assert.equal(err(Buffer.alloc(31).toString('base64')), 'wgtypes: incorrect key size: 31');
  assert.equal(err(''), 'wgtypes: incorrect key size: 0');
  const peer = { publicKey: key, allowedIps: ['10.20.3.0/24', '100.64.20.3/32'], endpoint: '198.18.0.12:4002' };
  assert.equal(checkWgConfig({ privateKey: key, listenPort: 1, peers: [peer] }), undefined);
  assert.match(checkWgConfig({ privateKey: key, listenPort: 1, peers: [{ ...peer, endpoint: 'example.com:1' }] })!, /failed to parse endpoint/);
  assert.equal(checkWgConfig({ privateKey: key, listenPort: 1, peers: [{ ...peer, endpoint: '[2001:db8::1]:51820' }] }), undefined);
  assert.equal(renderWgConfig({ privateKey: key, listenPort: 4001, peers: [peer, { ...peer, endpoint: '' }] }),
    `[Interface]\nPrivateKey = ${key}\nListenPort = 4001\n\n[Peer]\nPublicKey = ${key}\nAllowedIPs = 10.20.3.0/24, 100.64.20.3/32\nEndpoint = 198.18.0.12:4002\nPersistentKeepalive = 20\n\n[Peer]\nPublicKey = ${key}\nAllowedIPs = 10.20.3.0/24, 100.64.20.3/32\nPersistentKeepalive = 20\n`);
  assert.match(nrRuleset(), /iifname "public" drop/);
});
