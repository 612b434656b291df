import type { NetworkResources, NrKind, NrRequest, WgInterfaceConfig } from '../../host/network/index.ts';
import { formatIPNet, type GoIPNet } from '../../model/goformat.ts';
import type { Network } from '../../model/network.ts';
import type { Primitive, PrimitiveContext, PrimitiveOf } from '../types.ts';

/** There is no mycelium binary on this node, so the feature is not offered (nor in node_features_get). */
export const MYCELIUM_UNSUPPORTED = 'mycelium is not supported on this node';

const cidr = (n: GoIPNet | null): string | null => (n ? formatIPNet(n) : null);

/** zos' network data as the host takes it: keys, port and peers for wg syncconf. */
export function wireguardOf(d: Pick<Network, 'wireguard_private_key' | 'wireguard_listen_port' | 'peers'>): WgInterfaceConfig {
  return {
    privateKey: d.wireguard_private_key,
    listenPort: d.wireguard_listen_port,
    peers: d.peers.map((p) => ({ publicKey: p.wireguard_public_key, allowedIps: p.allowed_ips.map((a) => formatIPNet(a)), endpoint: p.endpoint })),
  };
}

/** The NR request of a network workload: its name is the network name, NetID = (twin, name). */
export function nrRequest(ctx: PrimitiveContext, kind: NrKind, d: Pick<Network, 'subnet' | 'ip_range'>, wireguard?: WgInterfaceConfig): NrRequest {
  return { kind, twin: ctx.workload.twin, name: ctx.workload.name, workloadId: ctx.workload.id, subnet: cidr(d.subnet) ?? '', ipRange: cidr(d.ip_range), wireguard };
}

/**
 * The primitive of an NR-backed type: provision and update take the same idempotent path
 * (host.ensure; peers change live), errors get zos' prefix, deprovision removes the NR, and
 * init drops NRs of this kind that no stored workload owns (the host adopted the rest at start).
 */
export function nrPrimitive<D>(host: NetworkResources, kind: NrKind, request: (ctx: PrimitiveContext, d: D) => NrRequest): Primitive<D, null> {
  async function provision(ctx: PrimitiveContext, d: D): Promise<null> {
    try {
      await host.ensure(request(ctx, d));
    } catch (err) {
      throw new Error(`failed to create network resource for network ${ctx.workload.id}: ${(err as Error).message}`, { cause: err });
    }
    return null;
  }
  return {
    provision,
    update: (ctx, d) => provision(ctx, d),
    deprovision: (ctx) => host.remove(ctx.workload.twin, ctx.workload.name),
    init: async (ctx) => {
      const keep = new Set(ctx.workloads.map((w) => `${w.workload.twin}/${w.workload.name}`));
      for (const nr of host.list()) {
        if (nr.kind !== kind || keep.has(`${nr.twin}/${nr.name}`)) continue;
        ctx.log.info({ twin: nr.twin, network: nr.name }, 'removing a network resource no workload owns');
        await host.remove(nr.twin, nr.name);
      }
    },
  };
}

/**
 * `network`: one node's part of a user's WireGuard network (zos pkg/primitives/network): an NR
 * with the user's key and port, the peers' subnets routed through WireGuard, NAT out. Result null.
 */
export function networkPrimitive(host: NetworkResources): PrimitiveOf<'network'> {
  return nrPrimitive(host, 'network', (ctx, d: Network) => {
    if (d.mycelium) throw new Error(MYCELIUM_UNSUPPORTED);
    return nrRequest(ctx, 'network', d, wireguardOf(d));
  });
}
