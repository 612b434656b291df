import type { NetworkResources } from '../../host/network/index.ts';
import type { NetworkLight } from '../../model/network-light.ts';
import type { PrimitiveOf } from '../types.ts';
import { nrPrimitive, nrRequest, wireguardOf } from '../network/index.ts';

/**
 * `network-light` (zos 4, pkg/netlight): an NR with the subnet's bridge and NAT out; WireGuard
 * only when a private key is given. Its `mycelium` block is mandatory in zos and is validated,
 * but this node runs no mycelium (no binary), so no mycelium bridge is built; a zmachine-light
 * asking for a mycelium NIC is refused by the VM primitive. Result null.
 */
export function networkLightPrimitive(host: NetworkResources): PrimitiveOf<'network-light'> {
  return nrPrimitive(host, 'network-light', (ctx, d: NetworkLight) =>
    nrRequest(ctx, 'network-light', d, d.wireguard_private_key !== '' ? wireguardOf(d) : undefined));
}
