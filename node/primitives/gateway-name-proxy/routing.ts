// What both gateway proxies share (zos pkg/gateway setupRouting): the node's public config,
// backend checks, the owner's network, and the route handed to the proxy on the host.
import type { GatewayRoutes, ProxyRoute } from '../../host/gateway/index.ts';
import { containsNet, convert4to6, networkOf, parseCidr4 } from '../../host/network/addr.ts';
import type { NetworkAttachment, NetworkTaps, PublicSetup } from '../../host/network/index.ts';
import { splitHostPort, type GatewayBase } from '../../model/gateway.ts';
import { parseIP } from '../../model/goformat.ts';
import { networkId } from '../../model/ids.ts';
import type { NameContractInfo } from '../../chain-port.ts';
import type { InitContext, Primitive, PrimitiveContext } from '../types.ts';

/** The node's public config as gateways need it (zos pkg.PublicConfig): addresses without prefix. */
export interface GatewayPublicConfig {
  ipv4: string;
  ipv6: string;
  domain: string;
}

/** The host and chain services the gateway primitives are built with. */
export interface GatewayServices {
  routes: GatewayRoutes;
  networks: Pick<NetworkTaps, 'lookup'>;
  /** null when the node has no public config (or no public namespace yet): gateways are refused. */
  publicConfig(): Promise<GatewayPublicConfig | null>;
  /** The live name contract of a gateway name (ContractIDByNameRegistration), or null. */
  nameContract(name: string): Promise<NameContractInfo | null>;
  /** A/AAAA records of a host name through the node's resolver; throws Go-like errors. */
  lookupHost(host: string): Promise<string[]>;
}

/** The node's public setup in the shape gateways use (addresses without prefix). */
export function gatewayPublicConfig(pc: PublicSetup | null): GatewayPublicConfig | null {
  const bare = (cidr: string | null) => cidr?.split('/')[0] ?? '';
  return pc ? { ipv4: bare(pc.ipv4), ipv6: bare(pc.ipv6), domain: pc.domain ?? '' } : null;
}

export const NO_PUBLIC_CONFIG = 'gateway is not supported on this node: no public configuration';

async function requirePublicConfig(s: GatewayServices): Promise<GatewayPublicConfig> {
  const cfg = await s.publicConfig();
  if (!cfg) throw new Error(NO_PUBLIC_CONFIG);
  return cfg;
}

/** IPs in one canonical text form (IPv6 compressed, lowercase), for comparing addresses. */
export function canonicalIp(ip: string): string {
  return ip.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** An IPv4 in the user's network (its range, else the NR subnet), or an IPv6 in the NR's ULA /64 (zos Convert4to6, where VMs' IPv6 live). */
function inNetwork(ip: string, nr: NetworkAttachment): boolean {
  const subnet = parseCidr4(nr.subnet)!;
  if (!ip.includes(':')) {
    const host = parseCidr4(`${ip}/32`);
    return host !== null && containsNet(parseCidr4(nr.ipRange ?? nr.subnet)!, host);
  }
  const [want, got] = [parseIP(convert4to6(nr.netId, networkOf(subnet))), parseIP(ip)];
  return want !== null && got !== null && want.subarray(0, 8).every((byte, i) => byte === got[i]);
}

/** zos Backend.AsAddress with the IP apart: `ip:port` as given, or an http URL's host (port 80 by default). */
function backendAddress(b: string, tlsPassthrough: boolean): { ip: string; address: string } {
  if (tlsPassthrough) {
    const hp = splitHostPort(b) as { host: string; port: string };
    return { ip: hp.host, address: hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}` };
  }
  const u = new URL(b);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { ip: host, address: `${u.hostname}:${u.port || '80'}` };
}

/**
 * zos setupRouting: backends must not loop back to the node's own public IPs; the fqdn must not
 * be taken by another workload; with `network`, the twin's network resource on this node is
 * where the proxy dials the backends from, and every backend must be inside that network.
 * Then the route is handed to the proxy (idempotent for the same workload).
 */
export async function setupRouting(ctx: PrimitiveContext, s: GatewayServices, kind: string, fqdn: string, d: GatewayBase, cfg: GatewayPublicConfig): Promise<void> {
  const own = new Set([cfg.ipv4, cfg.ipv6].filter(Boolean).map(canonicalIp));
  const backends = d.backends.map((b) => ({ b, ...backendAddress(b, d.tls_passthrough) }));
  for (const { b, ip } of backends) {
    if (own.has(canonicalIp(ip))) throw new Error(`backend ${b} points to the node's own public IP address`);
  }
  const taken = s.routes.list().find((r) => r.fqdn.toLowerCase() === fqdn.toLowerCase() && r.id !== ctx.workload.id);
  if (taken) throw new Error(`domain already registered: ${fqdn}`);
  let namespace: string | undefined;
  if (d.network !== undefined) {
    const nr = s.networks.lookup(ctx.workload.twin, d.network);
    if (!nr) throw new Error(`failed to get user network: couldn't load network with id (${networkId(ctx.workload.twin, d.network)}): no such network`);
    for (const { b, ip } of backends) {
      if (!inNetwork(ip, nr)) throw new Error(`failed to ensure local gateway: backend ${b} is not in network ${d.network} (${nr.ipRange ?? nr.subnet})`);
    }
    namespace = nr.namespace;
  }
  const route: ProxyRoute = { id: ctx.workload.id, kind, fqdn, tlsPassthrough: d.tls_passthrough, servers: backends.map((x) => x.address), ...(namespace ? { namespace } : {}) };
  await s.routes.set(route);
}

/**
 * A gateway type: provision needs the public config and gets zos' manager prefix on errors
 * (`failed to setup name proxy: `); deprovision removes the route; init removes the routes of
 * this type that no stored workload owns.
 */
export function gatewayPrimitive<D, R>(
  s: GatewayServices, kind: string, what: 'name' | 'fqdn', setup: (ctx: PrimitiveContext, d: D, cfg: GatewayPublicConfig) => Promise<R>,
): Primitive<D, R> {
  return {
    async provision(ctx, d) {
      try {
        return await setup(ctx, d, await requirePublicConfig(s));
      } catch (err) {
        throw new Error(`failed to setup ${what} proxy: ${(err as Error).message}`, { cause: err });
      }
    },
    deprovision: (ctx) => s.routes.remove(ctx.workload.id),
    init: async (ctx: InitContext<D, R>) => {
      const keep = new Set(ctx.workloads.map((w) => w.workload.id));
      for (const r of s.routes.list()) {
        if (r.kind !== kind || keep.has(r.id)) continue;
        ctx.log.info({ workload: r.id, fqdn: r.fqdn }, 'removing a gateway route no workload owns');
        await s.routes.remove(r.id);
      }
    },
  };
}
