// The gateway primitives against in-memory host and chain services: zos' checks, their order and
// texts, the route handed to the proxy, idempotence, init and the name contract upkeep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/log.ts';
import type { NameContractInfo } from '../../node/chain-port.ts';
import type { GatewayRoutes, ProxyRoute } from '../../node/host/gateway/index.ts';
import { convert4to6, parseCidr4 } from '../../node/host/network/addr.ts';
import type { NetworkAttachment } from '../../node/host/network/index.ts';
import type { GatewayFqdnProxy } from '../../node/model/gateway-fqdn-proxy.ts';
import type { GatewayNameProxy } from '../../node/model/gateway-name-proxy.ts';
import { networkId } from '../../node/model/ids.ts';
import { gatewayFqdnPrimitive } from '../../node/primitives/gateway-fqdn-proxy/index.ts';
import { gatewayNamePrimitive, invalidNameRoutes } from '../../node/primitives/gateway-name-proxy/index.ts';
import type { GatewayPublicConfig, GatewayServices } from '../../node/primitives/gateway-name-proxy/routing.ts';
import { primitiveContext } from '../helpers/primitive-context.ts';

const ctx = primitiveContext;

const NR: NetworkAttachment = {
  netId: '7aH1SRREnwwbr', kind: 'network', namespace: 'n-test', bridge: 'b-test', subnet: '10.20.2.0/24', gateway: '10.20.2.1', ipRange: '10.20.0.0/16',
};

function services(o: { cfg?: GatewayPublicConfig | null; contracts?: Record<string, NameContractInfo>; dns?: Record<string, string[]> } = {}) {
  const routes = new Map<string, ProxyRoute>();
  const sets: ProxyRoute[] = [];
  const proxy: GatewayRoutes = {
    set: async (r) => void (sets.push(r), routes.set(r.id, r)),
    remove: async (id) => void routes.delete(id),
    list: () => [...routes.values()],
  };
  const cfg = o.cfg === undefined ? { ipv4: '185.206.122.10', ipv6: '2a02:1802:5e:2::10', domain: 'gw.example' } : o.cfg;
  const contracts = o.contracts ?? {};
  const s: GatewayServices = {
    routes: proxy,
    networks: { lookup: (twin, name) => (twin === 7 && name === 'net1' ? NR : undefined) },
    publicConfig: async () => cfg,
    nameContract: async (name) => contracts[name] ?? null,
    lookupHost: async (host) => {
      const ips = o.dns?.[host];
      if (!ips) throw new Error(`lookup ${host} on 8.8.8.8:53: no such host`);
      return ips;
    },
  };
  return { s, routes, sets, contracts };
}

const mine = (state: NameContractInfo['state'] = 'Created'): NameContractInfo => ({ contractId: 9, twinId: 7, state });
const named = (over: Partial<GatewayNameProxy> = {}): GatewayNameProxy => ({ name: 'app', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1', ...over });
const fqdn = (over: Partial<GatewayFqdnProxy> = {}): GatewayFqdnProxy => ({ fqdn: 'app.example.org', tls_passthrough: false, backends: ['http://10.20.2.5:8080'], network: 'net1', ...over });

test('name proxy: public config, domain and name contract checked in zos order with its texts', async () => {
  const refuse = async (s: GatewayServices, d: GatewayNameProxy, want: string) =>
    assert.rejects(gatewayNamePrimitive(s).provision(ctx('gw'), d), { message: `failed to setup name proxy: ${want}` });
  await refuse(services({ cfg: null }).s, named(), 'gateway is not supported on this node: no public configuration');
  await refuse(services({ cfg: { ipv4: '185.206.122.10', ipv6: '', domain: '' } }).s, named(), "node doesn't support name proxy (doesn't have a domain)");
  await refuse(services().s, named(), 'failed to verify name contract: a name contract with the given name must be reserved first');
  await refuse(services({ contracts: { app: mine('Deleted') } }).s, named(), 'failed to verify name contract: the name contract must be in Created or GracePeriod state');
  await refuse(services({ contracts: { app: { ...mine(), twinId: 8 } } }).s, named(), 'failed to verify name contract: twin id mismatch');
  await refuse(services({ contracts: { app: mine() } }).s, named({ network: 'net2' }), `failed to get user network: couldn't load network with id (${networkId(7, 'net2')}): no such network`);
});

test('name proxy: the route dials the owner namespace; re-provision is idempotent; another workload cannot take the name', async () => {
  const { s, routes, sets } = services({ contracts: { app: mine('GracePeriod') } });
  const p = gatewayNamePrimitive(s);
  assert.deepEqual(await p.provision(ctx('gw'), named()), { fqdn: 'app.gw.example' });
  assert.deepEqual(routes.get('7-42-gw'), { id: '7-42-gw', kind: 'gateway-name-proxy', fqdn: 'app.gw.example', tlsPassthrough: false, servers: ['10.20.2.5:80'], namespace: 'n-test' });
  assert.deepEqual(await p.provision(ctx('gw'), named()), { fqdn: 'app.gw.example' });
  assert.equal(routes.size, 1);
  await assert.rejects(p.provision(ctx('gw2', 7, 43), named()), { message: 'failed to setup name proxy: domain already registered: app.gw.example' });
  await p.deprovision(ctx('gw'), named());
  await p.deprovision(ctx('gw'), named());
  assert.equal(routes.size, 0);
  assert.equal(sets.length, 2);
});

test('backends: no loop to the node, inside the owner network (IPv4 range, IPv6 in the NR /64), addresses as haproxy takes them', async () => {
  const { s, routes } = services({ dns: { 'app.example.org': ['185.206.122.10'] } });
  const p = gatewayFqdnPrimitive(s);
  const refuse = (d: GatewayFqdnProxy, want: string) => assert.rejects(p.provision(ctx('f'), d), { message: `failed to setup fqdn proxy: ${want}` });
  await refuse(fqdn({ backends: ['http://185.206.122.10'], network: undefined }), "backend http://185.206.122.10 points to the node's own public IP address");
  await refuse(fqdn({ tls_passthrough: true, backends: ['[2a02:1802:5e:2:0::10]:443'], network: undefined }), "backend [2a02:1802:5e:2:0::10]:443 points to the node's own public IP address");
  await refuse(fqdn({ backends: ['http://10.21.0.5'] }), 'failed to ensure local gateway: backend http://10.21.0.5 is not in network net1 (10.20.0.0/16)');
  await refuse(fqdn({ backends: ['http://[fd00::5]'] }), 'failed to ensure local gateway: backend http://[fd00::5] is not in network net1 (10.20.0.0/16)');
  const v6 = convert4to6(NR.netId, parseCidr4('10.20.2.5/32')!.ip);
  assert.deepEqual(await p.provision(ctx('f'), fqdn({ tls_passthrough: true, backends: ['10.20.3.9:443', `[${v6}]:8443`] })), {});
  assert.deepEqual(routes.get('7-42-f')?.servers, ['10.20.3.9:443', `[${v6}]:8443`]);
  // Without a network the backends are dialled from the public namespace as given.
  await p.provision(ctx('f'), fqdn({ backends: ['http://[2a02:1802:5e:9::1]:8080'], network: undefined }));
  assert.deepEqual(routes.get('7-42-f'), { id: '7-42-f', kind: 'gateway-fqdn-proxy', fqdn: 'app.example.org', tlsPassthrough: false, servers: ['[2a02:1802:5e:9::1]:8080'] });
});

test('fqdn proxy: not under the node domain, must resolve to a node public IP (IPv4 or IPv6)', async () => {
  const { s } = services({ dns: { 'app.example.org': ['198.18.0.9', '2a02:1802:5e:2:0:0:0:10'], 'far.example.org': ['198.18.0.9'] } });
  const p = gatewayFqdnPrimitive(s);
  await assert.rejects(p.provision(ctx('f'), fqdn({ fqdn: 'x.gw.example' })), { message: "failed to setup fqdn proxy: can't create a fqdn workload with a subdomain of the gateway's managed domain" });
  await assert.rejects(p.provision(ctx('f'), fqdn({ fqdn: 'far.example.org' })), { message: "failed to setup fqdn proxy: failed to verify domain dns record: host doesn't point to the gateway ip" });
  await assert.rejects(p.provision(ctx('f'), fqdn({ fqdn: 'none.example.org' })), { message: 'failed to setup fqdn proxy: failed to verify domain dns record: lookup none.example.org on 8.8.8.8:53: no such host' });
  assert.deepEqual(await p.provision(ctx('f'), fqdn()), {});
});

test('init drops only unowned routes of its own type; the upkeep names routes whose contract went away', async () => {
  const { s, routes, contracts } = services({ contracts: { app: mine(), two: mine() }, dns: { 'app.example.org': ['185.206.122.10'] } });
  const names = gatewayNamePrimitive(s);
  await names.provision(ctx('a'), named());
  await names.provision(ctx('b'), named({ name: 'two' }));
  await gatewayFqdnPrimitive(s).provision(ctx('f'), fqdn());
  assert.deepEqual(await invalidNameRoutes(s), []);
  delete contracts.two;
  contracts.app = { ...mine(), twinId: 8 };
  assert.deepEqual(await invalidNameRoutes(s), [
    { id: '7-42-a', reason: 'twin id mismatch' },
    { id: '7-42-b', reason: 'a name contract with the given name must be reserved first' },
  ]);
  const stored = (id: string) => ({ workload: { ...ctx(id).workload }, data: named(), state: 'ok' as const, result: null });
  await names.init!({ workloads: [stored('a')], log: silentLogger(), signal: new AbortController().signal });
  assert.deepEqual([...routes.keys()].sort(), ['7-42-a', '7-42-f']);
});
