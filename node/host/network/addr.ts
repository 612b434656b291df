// Pure IPv4 arithmetic for network resources: no I/O. Addresses are dotted strings, networks
// `a.b.c.d/len` strings, as the `ip` command takes and prints them.

export interface Cidr4 {
  /** The address as given (zos keeps IPNet unmasked). */
  ip: number;
  prefix: number;
}

export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    v = v * 256 + Number(p);
  }
  return v;
}

export function formatIPv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export function parseCidr4(s: string): Cidr4 | null {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return null;
  const ip = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (ip === null || prefix > 32) return null;
  return { ip, prefix };
}

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** The network address of `c` (host bits cleared). */
export function networkOf(c: Cidr4): number {
  return (c.ip & mask(c.prefix)) >>> 0;
}

export function formatCidr4(c: Cidr4): string {
  return `${formatIPv4(c.ip)}/${c.prefix}`;
}

/** `inner` lies entirely inside `outer`. */
export function containsNet(outer: Cidr4, inner: Cidr4): boolean {
  return inner.prefix >= outer.prefix && ((inner.ip & mask(outer.prefix)) >>> 0) === networkOf(outer);
}

export function containsIp(net: Cidr4, ip: number): boolean {
  return ((ip & mask(net.prefix)) >>> 0) === networkOf(net);
}

export function overlaps(a: Cidr4, b: Cidr4): boolean {
  return containsNet(a, b) || containsNet(b, a);
}

/** The NR gateway: the subnet's `.1` with the subnet's mask, e.g. `10.20.2.1/24`. */
export function gatewayOf(subnet: Cidr4): Cidr4 {
  return { ip: networkOf(subnet) + 1, prefix: subnet.prefix };
}

/** zos wgIP(subnet) = 100.64.<2nd octet>.<3rd octet>, /16 on the node's WireGuard interface. */
export function wgIpOf(subnet: Cidr4): Cidr4 {
  const ip = subnet.ip;
  return { ip: ((100 << 24) | (64 << 16) | (((ip >>> 16) & 255) << 8) | ((ip >>> 8) & 255)) >>> 0, prefix: 16 };
}

/**
 * zos Convert4to6(netId, ip): `fd<b0>:<b1><b2>:<b3><b4>:<o3>::<o4>` with b0..b4 the first five
 * ASCII bytes of the NetID (Go's md5 Sum appends; see the reference) and o3/o4 the last octets.
 */
export function convert4to6(netId: string, ip: number): string {
  const b = [...Buffer.from(netId.slice(0, 5), 'ascii')].map((x) => x.toString(16).padStart(2, '0'));
  const o3 = ((ip >>> 8) & 255).toString(16);
  const o4 = (ip & 255).toString(16);
  // The WHATWG URL parser prints IPv6 the way Go's net.IP.String() does (compressed, lowercase).
  return new URL(`http://[fd${b[0]}:${b[1]}${b[2]}:${b[3]}${b[4]}:${o3}::${o4}]/`).hostname.slice(1, -1);
}
