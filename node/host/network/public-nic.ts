// Which link may carry the node's public traffic (zos `SetPublicExitLink`), and how the public
// bridge is wired now (zos `GetCurrentPublicExitLink`), from `ip -j -d addr` output: pure, no I/O.
import { isGlobalAddress } from '../system/links.ts';

/** One link as `ip -j -d addr show` prints it (the fields read here). */
export interface IpLink {
  ifname: string;
  master?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ local?: string }>;
}

/** zos pkg.ExitDevice, the answer of `zos.admin.get_public_nic`. */
export interface ExitDevice {
  is_single: boolean;
  is_dual: boolean;
  dual_interface: string;
}

/** zos' texts (netlink's, and SetPublicExitLink's). */
export const LINK_NOT_FOUND = 'Link not found';
export const NO_PUBLIC_BRIDGE = 'no public bridge found: Link not found';
/** Go's os.ErrNotExist: the public bridge has no exit yet. */
export const NO_EXIT = 'file does not exist';
export const INVALID_EXIT = 'invalid exit bridge must be a physical nic or the default bridge';
export const alreadyUsed = (name: string) => `device is '${name}' already used`;

/**
 * A NIC that can be the public exit: a physical device, or, where the machine's NICs are veths
 * (a container, a test lab namespace), a veth whose peer lives in another namespace. Not the
 * node's own objects: those are bridge ports or hold addresses, which `checkExit` refuses.
 */
export function isNic(l: IpLink): boolean {
  const kind = l.linkinfo?.info_kind ?? '';
  return l.ifname !== 'lo' && (kind === '' || (kind === 'veth' && l.link_netnsid !== undefined));
}

export type ExitChoice = { mode: 'dual'; nic: string } | { mode: 'single'; uplink: string };

/**
 * zos SetPublicExitLink's checks for `name` on this node: the node's uplink when it is a bridge
 * (zos' default `zos` bridge: single-NIC mode, br-pub joins it over a veth pair), or a free NIC
 * (dual-NIC mode). A NIC already in another bridge, or carrying the node's own addresses, is in use.
 */
export function checkExit(links: readonly IpLink[], name: string, uplink: string | null, publicBridge: string): ExitChoice {
  const l = links.find((x) => x.ifname === name);
  if (!l) throw new Error(LINK_NOT_FOUND);
  if (name === uplink && l.linkinfo?.info_kind === 'bridge') return { mode: 'single', uplink: name };
  if (!isNic(l)) throw new Error(INVALID_EXIT);
  if (l.master === publicBridge) return { mode: 'dual', nic: name };
  const addressed = (l.addr_info ?? []).some((a) => a.local && isGlobalAddress(a.local));
  if (l.master || addressed || name === uplink) throw new Error(alreadyUsed(name));
  return { mode: 'dual', nic: name };
}

/**
 * How the public bridge reaches the outside, from its ports: the single-mode veth (`singlePort`)
 * or a NIC. VM taps (kind tun) are not exits. Throws zos' texts without a bridge or an exit.
 */
export function currentExit(links: readonly IpLink[], publicBridge: string, singlePort: string): ExitDevice {
  if (!links.some((l) => l.ifname === publicBridge)) throw new Error(NO_PUBLIC_BRIDGE);
  const ports = links.filter((l) => l.master === publicBridge && l.linkinfo?.info_kind !== 'tun');
  if (ports.some((l) => l.ifname === singlePort)) return { is_single: true, is_dual: false, dual_interface: '' };
  const nic = ports.find(isNic);
  if (!nic) throw new Error(NO_EXIT);
  return { is_single: false, is_dual: true, dual_interface: nic.ifname };
}
