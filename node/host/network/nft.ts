// nftables rulesets of network resources, rendered as text for `nft -f -` (pure; ip.ts applies).
import { NR_PUBLIC_IF } from './names.ts';

export const NR_TABLE = 'zos-nr';
export const UPLINK_TABLE = 'zos-uplink';

/**
 * Inside one NR namespace (so the rules are per NR and go away with it), as zos does: new
 * traffic coming in from the uplink is dropped (nothing outside may open a connection into a
 * user network; WireGuard traffic arrives on the wg interface, not on `public`), replies are
 * accepted, and traffic leaving by the uplink is masqueraded (fully random source ports).
 */
export function nrRuleset(): string {
  return replaceTable('inet', NR_TABLE, {
    prerouting: ['type filter hook prerouting priority filter; policy accept;', `iifname "${NR_PUBLIC_IF}" ct state established,related accept`, `iifname "${NR_PUBLIC_IF}" drop`],
    postrouting: ['type nat hook postrouting priority srcnat; policy accept;', `oifname "${NR_PUBLIC_IF}" masquerade fully-random`],
  });
}

/** A table replaced as a whole in one nft transaction (declare, delete, define: works whether it exists or not). */
function replaceTable(family: string, name: string, chains: Record<string, string[]>): string {
  const body = Object.entries(chains).map(([chain, lines]) => `  chain ${chain} {\n${lines.map((l) => `    ${l}\n`).join('')}  }\n`).join('');
  return `table ${family} ${name}\ndelete table ${family} ${name}\ntable ${family} ${name} {\n${body}}\n`;
}

/**
 * In the node's namespace: the uplink veths of all NRs (`u-*`, each a /30 from `pool`). An NR
 * may go out (masqueraded again behind the node's address) but may not open anything on the
 * node itself (its loopback-bound services, its own connections) nor reach another NR's
 * uplink: that is what keeps tenants apart on one node. Without `egress` (a node sharing a
 * person's machine, as `zos up` runs them) nothing is forwarded to or from an uplink at all:
 * user networks reach only their WireGuard peers.
 */
export function uplinkRuleset(pool: string, uplinkGlob = 'u-*', egress = true): string {
  const up = `"${uplinkGlob}"`;
  const input = ['type filter hook input priority filter; policy accept;', `iifname ${up} ct state established,related accept`, `iifname ${up} drop`];
  if (!egress) {
    return replaceTable('ip', UPLINK_TABLE, { input, forward: ['type filter hook forward priority filter; policy accept;', `iifname ${up} drop`, `oifname ${up} drop`] });
  }
  return replaceTable('ip', UPLINK_TABLE, {
    input,
    forward: ['type filter hook forward priority filter; policy accept;', `iifname ${up} oifname ${up} drop`, `oifname ${up} ct state established,related accept`, `oifname ${up} drop`],
    postrouting: ['type nat hook postrouting priority srcnat; policy accept;', `ip saddr ${pool} oifname != ${up} masquerade fully-random`],
  });
}
