import { formatIP, formatIPNet, ipTo4, parseIP, parseIPNet } from '../../model/goformat.ts';
import type { PublicIP, PublicIPResult } from '../../model/ip.ts';
import { uniqueName } from '../../model/ids.ts';
import type { PublicPin, PublicSetup } from '../../host/network/index.ts';
import { macOf } from '../zmachine/mac.ts';
import { NoActionNeeded, type PrimitiveContext, type PrimitiveOf } from '../types.ts';
import { predictedSlaac } from './slaac.ts';

/** What public IPs need: the node's public setup (IPv6 prefix, tap filters) and the contract's farm IPs. */
export interface PublicIpHosts {
  public: {
    setup(): PublicSetup | null;
    pinTap(key: string, ipv4: string | null, mac: string, owner: { id: string; type: string }): Promise<void>;
    pinned(key: string): Promise<boolean>;
    pins(): PublicPin[];
    unpinTap(key: string): Promise<void>;
  };
  /** The farm IPs the contract reserved on chain (its `public_ips_list`), in order. */
  contractIps(contractId: number): Promise<Array<{ ip: string; gateway: string }>>;
}

/** The VM's public NIC belongs to the ip workload: its tap and MAC derive from zos' `Unique("pub")` of it. */
export function publicNicKey(ipWorkloadId: string): string {
  return uniqueName(ipWorkloadId, 'pub');
}

const v4Of = (type: string, data: unknown) => type === 'ipv4' || (data as PublicIP).v4;

/**
 * zos getAssignedPublicIP: this workload's own earlier result, else the first IP the contract
 * reserved that no other ok ip workload of the deployment holds.
 */
async function assignedV4(ctx: PrimitiveContext, h: PublicIpHosts): Promise<{ ip: string; gateway: string }> {
  const self = ctx.deployment.get(ctx.workload.name);
  const own = self?.state === 'ok' ? (self.result as PublicIPResult | null) : null;
  if (own?.ip) return { ip: own.ip, gateway: own.gateway };
  const reserved = await h.contractIps(ctx.workload.contract);
  const ipWorkloads = ctx.deployment.byType('ip', 'ipv4');
  if (ipWorkloads.filter((w) => v4Of(w.type, w.data)).length > reserved.length) {
    throw new Error(`required ${ipWorkloads.length} ips while contract has ${reserved.length} ip reserved`);
  }
  const used = new Set(ipWorkloads.filter((w) => w.workload.name !== ctx.workload.name && w.state === 'ok').map((w) => (w.result as PublicIPResult | null)?.ip));
  const free = reserved.find((r) => !used.has(r.ip));
  if (!free) throw new Error('could not allocate public IP address to workload');
  const net = parseIPNet(free.ip);
  if (!net) throw new Error(`found a malformed ip address in contract object '${free.ip}'`);
  const gw = parseIP(free.gateway);
  if (!gw) throw new Error(`found a malformed gateway address in farm object '${free.gateway}'`);
  return { ip: formatIPNet(net), gateway: formatIP(gw) };
}

/**
 * `ip` (and, through ipv4/, the deprecated `ipv4`): a farm IPv4 the contract reserved on chain
 * and/or an IPv6 in the node's public prefix, for the VM that names it in `network.public_ip`.
 * The host part is zos' filter pinning the VM's future public tap to those addresses and its MAC;
 * the VM makes the tap (zmachine), deprovision removes filter and tap.
 */
export function ipPrimitive(h: PublicIpHosts, type: 'ip' | 'ipv4' = 'ip'): PrimitiveOf<'ip'> {
  return {
    async provision(ctx, config) {
      const key = publicNicKey(ctx.workload.id);
      const self = ctx.deployment.get(ctx.workload.name);
      if (self?.state === 'ok' && self.result && (await h.public.pinned(key))) throw new NoActionNeeded(self.result);
      const mac = macOf(key);
      let ip6 = '';
      if (config.v6) {
        const prefix = h.public.setup()?.ipv6;
        if (!prefix) throw new Error('could not look up ipv6 prefix: no public ipv6 found');
        ip6 = predictedSlaac(prefix, mac);
      }
      const v4 = config.v4 ? await assignedV4(ctx, h) : { ip: '', gateway: '' };
      const bare = v4.ip ? formatIP(ipTo4(parseIPNet(v4.ip)!.ip)) : null;
      await h.public.pinTap(key, bare, mac, { id: ctx.workload.id, type });
      const result: PublicIPResult = { ip: v4.ip, ip6, gateway: v4.gateway };
      return result;
    },
    async deprovision(ctx) {
      await h.public.unpinTap(publicNicKey(ctx.workload.id));
    },
    /** At start: filters and taps of this type no workload owns any more (a crash mid-cancel) go. */
    async init(ictx) {
      const owned = new Set(ictx.workloads.map((w) => w.workload.id));
      for (const pin of h.public.pins()) {
        if (pin.type !== type || owned.has(pin.owner)) continue;
        ictx.log.warn({ workload: pin.owner }, 'removing a public ip filter no workload owns');
        await h.public.unpinTap(pin.key);
      }
    },
  };
}
