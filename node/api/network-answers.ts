import { formatIP, formatIPNet, parseIP, parseIPNet } from '../model/goformat.ts';
import type { HostSystem } from '../host/system/index.ts';
import type { PublicHost } from '../host/network/index.ts';

/** The public setup as the API reads it (node/host/network/public.ts). */
export type PublicNet = Pick<PublicHost, 'live' | 'setup' | 'exitDevice' | 'setExitNic'>;
import { adminInterfaces, linkAddresses } from '../host/system/links.ts';

/** zos' text when its "zos" interface is missing (the node has no uplink here). */
const NO_ZOS_LINK = "failed to get ips for '{zos  zos}' interface: failed to get interfaces (query: 'zos'): failed to get interface zos: Link not found";

/**
 * `zos.network.interfaces`: {"zos": addresses of the node's uplink (the interface of its default
 * route, which plays the zos bridge's part here), "ygg": yggdrasil addresses (none: this node runs
 * no yggdrasil)}.
 */
export async function networkInterfaces(host: HostSystem): Promise<{ zos: string[]; ygg: string[] }> {
  const uplink = await host.uplink();
  const zos = uplink ? linkAddresses(await host.links(), uplink) : null;
  if (!zos) throw new Error(NO_ZOS_LINK);
  return { zos, ygg: [] };
}

/** `zos.admin.interfaces`: every physical interface with its global addresses and MAC. */
export async function adminInterfaceList(host: HostSystem): Promise<ReturnType<typeof adminInterfaces>> {
  return adminInterfaces(await host.links());
}

/**
 * `zos.network.public_config_get` (zos pkg.PublicConfig): addresses and gateways as they are in the
 * public namespace (zos reads them from reality, `type` stays empty), the domain from the applied
 * config; zos' `no public configuration` without a namespace.
 */
export async function publicConfigAnswer(pub: PublicNet) {
  const live = await pub.live();
  const goIPNet = (s: string) => (s ? formatIPNet(parseIPNet(s)) : '');
  const goIP = (s: string) => {
    const ip = s ? parseIP(s) : null;
    return ip ? formatIP(ip) : '';
  };
  return { type: '', ipv4: goIPNet(live.ipv4), ipv6: goIPNet(live.ipv6), gw4: goIP(live.gw4), gw6: goIP(live.gw6), domain: pub.setup()?.domain ?? '' };
}
