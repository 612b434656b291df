import { execa } from 'execa';
import type { Lab, LabHost } from './lab.ts';

/**
 * A farm's public network inside a lab: an upstream router namespace with one leg on the lab's
 * internet (198.18.0.254) and one on the farm segment, which reaches lab node `i` as its second
 * NIC `eth1` (the farmer's public NIC: `zos.admin.set_public_nic "eth1"`). The farm segment uses
 * public-looking addresses, which exist only inside the isolated lab (tfchain refuses
 * 198.18.0.0/15 and documentation ranges in public configs and farm IPs). The laptop routes the
 * farm's IPv4 and IPv6 through the router; IPv6 on the lab's internet is 2a02:1802:5e:1::/64.
 */
export const FARM_NET = {
  /** The farm's IPv4 segment and its gateway (the router). */
  ipv4: '185.206.122.0/24',
  gw4: '185.206.122.1',
  ipv6: '2a02:1802:5e:2::/64',
  gw6: '2a02:1802:5e:2::1',
  /** The node's public config on chain. */
  node: { ip4: { ip: '185.206.122.10/24', gw: '185.206.122.1' }, ip6: { ip: '2a02:1802:5e:2::10/64', gw: '2a02:1802:5e:2::1' } },
  /** Farm IPs contracts reserve. */
  farmIps: [{ ip: '185.206.122.20/24', gw: '185.206.122.1' }, { ip: '185.206.122.21/24', gw: '185.206.122.1' }],
  /** The laptop's IPv6 on the lab internet. */
  laptop6: '2a02:1802:5e:1::100',
};

const ip = (ns: string, args: string[]) => execa('ip', ['-n', ns, ...args]);

/** Adds the router and wires lab node `i` to the farm segment (its `eth1`, no address: the node's public bridge takes it). */
export async function addUpstreamRouter(lab: Lab, i = 0): Promise<LabHost> {
  const rtr = await lab.addHost('rtr', '198.18.0.254');
  const node = lab.nodes[i]!;
  await ip(rtr.ns, ['link', 'add', 'farm0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', node.ns]);
  await ip(rtr.ns, ['addr', 'add', `${FARM_NET.gw4}/24`, 'dev', 'farm0']);
  await ip(rtr.ns, ['-6', 'addr', 'add', `${FARM_NET.gw6}/64`, 'dev', 'farm0', 'nodad']);
  await ip(rtr.ns, ['-6', 'addr', 'add', '2a02:1802:5e:1::1/64', 'dev', 'eth0', 'nodad']);
  await ip(rtr.ns, ['link', 'set', 'farm0', 'up']);
  await execa('ip', ['netns', 'exec', rtr.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  await ip(node.ns, ['link', 'set', 'eth1', 'up']);
  const lap = lab.laptop.ns;
  await ip(lap, ['-6', 'addr', 'add', `${FARM_NET.laptop6}/64`, 'dev', 'eth0', 'nodad']);
  await ip(lap, ['route', 'add', FARM_NET.ipv4, 'via', rtr.ip]);
  await ip(lap, ['-6', 'route', 'add', FARM_NET.ipv6, 'via', '2a02:1802:5e:1::1']);
  return rtr;
}
