import type { Logger } from '../../../lib/log.ts';
import { convert4to6, formatCidr4, formatIPv4, gatewayOf, networkOf, wgIpOf, type Cidr4 } from './addr.ts';
import { addrEnsure, ip, linkDelete, linkExists, netnsDelete, netnsEnsure, nftApply, sysctl, type Netns } from './ip.ts';
import { NR_PRIVATE_IF, NR_PUBLIC_IF, type NrNames } from './names.ts';
import { nrRuleset } from './nft.ts';
import { configureWireguard, isWireguardGo, startWireguardGo, stopWireguardGo } from './wireguard.ts';
import type { WgInterfaceConfig } from './wgconf.ts';

/** Everything needed to build one network resource; network-light has no `wireguard`. */
export interface NrSpec {
  netId: string;
  names: NrNames;
  subnet: Cidr4;
  /** The user network (a /16); routed through WireGuard. */
  ipRange: Cidr4 | null;
  /** The /30 of the uplink veth: .1 on the node side, .2 in the NR. */
  uplink: Cidr4;
  wireguard?: WgInterfaceConfig;
  /**
   * Where wireguard-go runs, and so where its UDP socket listens: the node's public namespace
   * while it has one (zos public.NewWireguard), so peers reach it at the public IP; else the
   * node's namespace. Its TUN is moved into the NR either way.
   */
  socketNs: Netns;
  /** zos' IPv6 on the private side (a `network`; zos' network-light has none). */
  ipv6: boolean;
}

export interface NrHostEnv {
  /** The node's namespace (undefined: the one the node runs in). */
  hostNs: Netns;
  /** Where wireguard-go logs and short-lived config files go. */
  runDir: string;
  log: Logger;
}

/**
 * Builds (or completes) an NR, idempotently:
 *
 *   node ns:  b-<h> bridge (VM taps) --- v-<h> ==veth== private (subnet .1)   } NR namespace n-<h>
 *             u-<h> (uplink .1/30)   ==veth== public (.2/30, default route)   } + nft rules
 *             wireguard-go: UDP socket in spec.socketNs, its TUN w-<h> moved into the NR  } + route ip_range
 *
 * Returns the pid of the wireguard-go serving the NR (the given one when still alive).
 */
export async function buildNr(spec: NrSpec, env: NrHostEnv, wgPid?: number): Promise<number | undefined> {
  const { names: n } = spec;
  const opts = { log: env.log };
  const host = env.hostNs;
  await netnsEnsure(n.ns, opts);
  await sysctl(n.ns, { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 }, opts);

  if (!(await linkExists(host, n.bridge))) {
    await ip(host, ['link', 'add', 'name', n.bridge, 'type', 'bridge'], opts);
    await sysctl(host, { [`net.ipv6.conf.${n.bridge}.disable_ipv6`]: 1 }, opts);
  }
  await ip(host, ['link', 'set', 'dev', n.bridge, 'up'], opts);

  if (!(await linkExists(host, n.bridgePort))) {
    await ip(host, ['link', 'add', 'name', n.bridgePort, 'type', 'veth', 'peer', 'name', NR_PRIVATE_IF, 'netns', n.ns], opts);
  }
  await ip(host, ['link', 'set', 'dev', n.bridgePort, 'master', n.bridge, 'up'], opts);
  const gw = gatewayOf(spec.subnet);
  await addrEnsure(n.ns, NR_PRIVATE_IF, formatCidr4(gw), opts);
  if (spec.ipv6) {
    // The gateway6 of the network's VMs (machine.ts): the ULA of .1, and fe80::1 as zos sets it.
    await addrEnsure(n.ns, NR_PRIVATE_IF, `${convert4to6(spec.netId, gw.ip)}/64`, opts);
    await addrEnsure(n.ns, NR_PRIVATE_IF, 'fe80::1/64', opts);
  }
  await ip(n.ns, ['link', 'set', 'dev', NR_PRIVATE_IF, 'up'], opts);

  const upNet = networkOf(spec.uplink);
  if (!(await linkExists(host, n.uplink))) {
    await ip(host, ['link', 'add', 'name', n.uplink, 'type', 'veth', 'peer', 'name', NR_PUBLIC_IF, 'netns', n.ns], opts);
  }
  await addrEnsure(host, n.uplink, `${formatIPv4(upNet + 1)}/30`, opts);
  await ip(host, ['link', 'set', 'dev', n.uplink, 'up'], opts);
  await addrEnsure(n.ns, NR_PUBLIC_IF, `${formatIPv4(upNet + 2)}/30`, opts);
  await ip(n.ns, ['link', 'set', 'dev', NR_PUBLIC_IF, 'up'], opts);
  await ip(n.ns, ['route', 'replace', 'default', 'via', formatIPv4(upNet + 1), 'dev', NR_PUBLIC_IF], opts);
  await nftApply(n.ns, nrRuleset(), opts);

  if (!spec.wireguard) {
    await stopWireguardGo(wgPid, n.wg);
    return undefined;
  }
  return ensureWireguard(spec, spec.wireguard, env, wgPid);
}

async function ensureWireguard(spec: NrSpec, wg: WgInterfaceConfig, env: NrHostEnv, wgPid?: number): Promise<number> {
  const { names: n } = spec;
  const opts = { log: env.log };
  let pid = wgPid;
  let started = false;
  try {
    if (pid === undefined || !(await isWireguardGo(pid, n.wg)) || !(await linkExists(n.ns, n.wg))) {
      await stopWireguardGo(pid, n.wg);
      pid = await startWireguardGo({ iface: n.wg, ns: spec.socketNs, logFile: `${env.runDir}/${n.wg}.log`, log: env.log });
      started = true;
      // The UDP socket stays where it was opened; the moved TUN carries the NR's traffic.
      await ip(spec.socketNs, ['link', 'set', 'dev', n.wg, 'netns', n.ns], opts);
    }
    await configureWireguard(n.wg, wg, env.runDir, env.log);
    await addrEnsure(n.ns, n.wg, formatCidr4(wgIpOf(spec.subnet)), opts);
    await ip(n.ns, ['link', 'set', 'dev', n.wg, 'up'], opts);
    if (spec.ipRange) await ip(n.ns, ['route', 'replace', formatCidr4({ ip: networkOf(spec.ipRange), prefix: spec.ipRange.prefix }), 'dev', n.wg], opts);
  } catch (err) {
    // A process this call started must not outlive its failure (the caller only knows pids it got back).
    if (started) await stopWireguardGo(pid, n.wg);
    throw new Error(`failed to configure network resource: failed to configure wireguard interface: ${(err as Error).message}`, { cause: err });
  }
  return pid;
}

/** Removes an NR: wireguard-go, its links on the host (veth pairs, bridge), the namespace. Missing parts are fine. */
export async function removeNr(names: NrNames, env: NrHostEnv, wgPid?: number): Promise<void> {
  const opts = { log: env.log };
  await stopWireguardGo(wgPid, names.wg);
  // Links first, the namespace last: a namespace gone is what callers (and the node's own
  // restart) take as "this NR is gone", so nothing of it may outlive that.
  for (const link of [names.bridgePort, names.uplink, names.bridge]) await linkDelete(env.hostNs, link, opts);
  await netnsDelete(names.ns, opts);
}
