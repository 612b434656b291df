import { formatIPNet, parseIPNet } from '../../model/goformat.ts';

/**
 * The IPv6 a NIC with `mac` takes by SLAAC in `prefix` (zos predictedSlaac): the prefix's first
 * 8 bytes, then the modified EUI-64 of the MAC (universal/local bit flipped, ff:fe in the middle),
 * printed with the prefix's length as Go's IPNet. Pure.
 */
export function predictedSlaac(prefix: string, mac: string): string {
  const net = parseIPNet(prefix);
  if (!net || net.maskLen !== 16) throw new Error(`invalid ipv6 prefix '${prefix}'`);
  const hw = mac.split(':').map((h) => Number.parseInt(h, 16));
  if (hw.length !== 6 || hw.some((b) => !(b >= 0 && b <= 255))) throw new Error(`Could not parse MAC address ${mac}`);
  const ip = Uint8Array.from(net.ip);
  ip.set([hw[0]! ^ 2, hw[1]!, hw[2]!, 0xff, 0xfe, hw[3]!, hw[4]!, hw[5]!], 8);
  return formatIPNet({ ip, prefix: net.prefix, maskLen: 16 });
}
