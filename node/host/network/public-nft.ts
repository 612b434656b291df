// nftables rules pinning a VM's public tap to the addresses its `ip` workload was given (zos
// SetupPubIPFilter): pure, rendered for `nft -f -`. One table per tap, so removal is one delete.

/** The table holding one tap's filter (bridge family: frames crossing the public bridge). */
export function pubFilterTable(tap: string): string {
  return `zos-pub-${tap}`;
}

/**
 * Frames from the tap must carry its IPv4 and MAC (IPv4 packets and ARP), frames to it must be
 * addressed to them, as zos does; `0.0.0.0` when the workload has no IPv4, so a VM cannot take an
 * address it was not given. IPv6 is not pinned (zos leaves those rules commented out).
 */
export function pubFilterRuleset(tap: string, ipv4: string | null, mac: string): string {
  const table = pubFilterTable(tap);
  const ip = ipv4 ?? '0.0.0.0';
  const dev = `"${tap}"`;
  return [
    `table bridge ${table}`,
    `delete table bridge ${table}`,
    `table bridge ${table} {`,
    '  chain pre {',
    '    type filter hook prerouting priority filter; policy accept;',
    `    iifname ${dev} ip saddr . ether saddr != { ${ip} . ${mac} } counter drop`,
    `    iifname ${dev} arp operation reply arp saddr ip != ${ip} counter drop`,
    `    iifname ${dev} arp operation request arp saddr ip != ${ip} counter drop`,
    '  }',
    '  chain post {',
    '    type filter hook postrouting priority filter; policy accept;',
    `    oifname ${dev} ip daddr . ether daddr != { ${ip} . ${mac} } counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}
