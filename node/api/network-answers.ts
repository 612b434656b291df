import { formatIP, formatIPNet, parseIP, parseIPNet } from '../model/goformat.ts';
import type { PublicConfig } from '../../chain/client/types.ts';
import type { HostSystem } from '../host/system/index.ts';
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

/** zos' text when the node has no public configuration. */
export const NO_PUBLIC_CONFIG = 'no public configuration';

const goIPNet = (s: string | undefined) => {
  if (!s) return '';
  const n = parseIPNet(s);
  if (!n) throw new Error(`invalid public config address '${s}'`);
  return formatIPNet(n);
};
const goIP = (s: string | undefined) => {
  const ip = s ? parseIP(s) : null;
  return ip ? formatIP(ip) : '';
};

/** `zos.network.public_config_get`: the node's public config on chain in zos' shape (pkg.PublicConfig). */
export function publicConfigAnswer(cfg: PublicConfig | null) {
  if (!cfg) throw new Error(NO_PUBLIC_CONFIG);
  return {
    type: 'macvlan',
    ipv4: goIPNet(cfg.ip4.ip),
    ipv6: goIPNet(cfg.ip6?.ip),
    gw4: goIP(cfg.ip4.gw),
    gw6: goIP(cfg.ip6?.gw),
    domain: cfg.domain ?? '',
  };
}
