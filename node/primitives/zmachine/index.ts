import type { PublicIPResult } from '../../model/ip.ts';
import { publicNicKey } from '../ip/index.ts';
import { NoActionNeeded, type PrimitiveContext, type PrimitiveOf } from '../types.ts';
import { machinePrimitive, type MachineHosts, type PublicNic } from './machine.ts';

export type { MachineHosts, TapAttacher } from './machine.ts';

/** The public NIC the `ip` workload named by `network.public_ip` gave (zos' texts when it can't). */
function publicNic(ctx: PrimitiveContext, name: string, gw6: string): PublicNic {
  const wl = ctx.deployment.get(name);
  if (!wl || (wl.type !== 'ip' && wl.type !== 'ipv4')) throw new Error('could not get public ip config: workload for public IP is of wrong type');
  const r = wl.result as PublicIPResult | null;
  if (wl.state !== 'ok' || !r) throw new Error('could not get public ip config: public ip workload is not okay');
  return { key: publicNicKey(wl.workload.id), ip: r.ip, gateway: r.gateway, ip6: r.ip6, gw6: r.ip6 ? gw6 : '' };
}

/**
 * zmachine: a VM on a private network, with a public NIC on the node's public bridge when
 * `network.public_ip` names an ip workload. No planetary or mycelium on this node: their
 * addresses stay "".
 */
export function zmachinePrimitive(h: MachineHosts & { publicGw6: () => string }): PrimitiveOf<'zmachine'> {
  const m = machinePrimitive('zmachine', h);
  return {
    async provision(ctx, config) {
      try {
        const pub = config.network.public_ip ? publicNic(ctx, config.network.public_ip, h.publicGw6()) : undefined;
        return { ...(await m.provision(ctx, config, pub)), planetary_ip: '' };
      } catch (err) {
        if (err instanceof NoActionNeeded) throw new NoActionNeeded({ ...(err.result as object), planetary_ip: '' });
        throw err;
      }
    },
    deprovision: (ctx) => m.deprovision(ctx),
    pause: (ctx) => m.pause(ctx),
    resume: (ctx) => m.resume(ctx),
    init: (ictx) => m.init(ictx),
    idle: (ictx) => m.idle(ictx),
  };
}
