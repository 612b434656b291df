/**
 * Host network interfaces from `ip -j -d addr` and the routing table from /proc/net/route: pure,
 * no I/O. The filters are zos' (zosbase pkg/network networker.Interfaces): physical devices only
 * (no kind: not veth, bridge, ifb, wireguard…), never `lo`, and only global addresses that are
 * not IPv6 ULA.
 */
import { isIP } from 'node:net';

export interface HostLink {
  name: string;
  mac: string;
  /** Empty for a physical device; the netlink kind (veth, bridge, …) otherwise. */
  kind: string;
  /** CIDRs as `ip` prints them (address/prefix). */
  cidrs: string[];
}

interface IpJsonLink {
  ifname?: string;
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ local?: string; prefixlen?: number }>;
}

export function parseIpAddrJson(json: string): HostLink[] {
  const raw = JSON.parse(json) as IpJsonLink[];
  if (!Array.isArray(raw)) throw new Error('ip -j addr: expected a JSON array');
  return raw
    .filter((l) => typeof l.ifname === 'string')
    .map((l) => ({
      name: l.ifname!,
      mac: l.address ?? '',
      kind: l.linkinfo?.info_kind ?? '',
      cidrs: (l.addr_info ?? []).filter((a) => a.local && a.prefixlen !== undefined).map((a) => `${a.local}/${a.prefixlen}`),
    }));
}

/** Go's net.IP.IsGlobalUnicast without IPv6 ULA (fc00::/7), as zos filters interface addresses. */
export function isGlobalAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    if (ip === '255.255.255.255' || a === 0 || a === 127 || a >= 224) return false;
    return !(a === 169 && b === 254);
  }
  if (v === 6) {
    const first = Number.parseInt(ip.split(':')[0] || '0', 16);
    if (ip === '::' || ip === '::1') return false;
    if ((first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00) return false;
    return (first & 0xfe00) !== 0xfc00;
  }
  return false;
}

const addressOf = (cidr: string) => cidr.slice(0, cidr.lastIndexOf('/'));

/** The links zos lists to the farmer: physical devices besides `lo`, global addresses only. */
export function zosLinks(links: readonly HostLink[]): HostLink[] {
  return links
    .filter((l) => l.name !== 'lo' && l.kind === '')
    .map((l) => ({ ...l, cidrs: l.cidrs.filter((c) => isGlobalAddress(addressOf(c))) }));
}

/** `zos.admin.interfaces`: name → {ips (CIDRs, null when none, as Go marshals a nil slice), mac}. */
export function adminInterfaces(links: readonly HostLink[]): Record<string, { ips: string[] | null; mac: string }> {
  const sorted = zosLinks(links).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Object.fromEntries(sorted.map((l) => [l.name, { ips: l.cidrs.length ? l.cidrs : null, mac: l.mac }]));
}

/** The addresses (no prefix) of one link after zos' filter; null when the link is not there. */
export function linkAddresses(links: readonly HostLink[], name: string): string[] | null {
  const link = links.find((l) => l.name === name);
  if (!link) return null;
  return link.cidrs.map(addressOf).filter(isGlobalAddress);
}

/** The interface of the IPv4 default route in /proc/net/route, or null when there is none. */
export function defaultRouteInterface(procNetRoute: string): string | null {
  for (const line of procNetRoute.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[1] === '00000000' && f[7] === '00000000') return f[0]!;
  }
  return null;
}

/** Established TCP sockets in /proc/net/tcp or tcp6 (state 01), what zos counts with `ss -tnH state established`. */
export function countEstablished(procNetTcp: string): number {
  let n = 0;
  for (const line of procNetTcp.split('\n').slice(1)) {
    if (line.trim().split(/\s+/)[3] === '01') n++;
  }
  return n;
}
