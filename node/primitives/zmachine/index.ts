import { NoActionNeeded, type PrimitiveOf } from '../types.ts';
import { machinePrimitive, type MachineHosts } from './machine.ts';

export type { MachineHosts, TapAttacher } from './machine.ts';

/**
 * zmachine: a VM on a private network. No public IPv4, planetary or mycelium on this node:
 * a public IP is refused with zos' error; planetary and mycelium addresses stay "".
 */
export function zmachinePrimitive(h: MachineHosts): PrimitiveOf<'zmachine'> {
  const m = machinePrimitive('zmachine', h);
  return {
    async provision(ctx, config) {
      if (config.network.public_ip !== '') throw new Error('public ipv4 is requested, but not supported on this node');
      try {
        return { ...(await m.provision(ctx, config)), planetary_ip: '' };
      } catch (err) {
        if (err instanceof NoActionNeeded) throw new NoActionNeeded({ ...(err.result as object), planetary_ip: '' });
        throw err;
      }
    },
    deprovision: (ctx) => m.deprovision(ctx),
    pause: (ctx) => m.pause(ctx),
    resume: (ctx) => m.resume(ctx),
    init: (ictx) => m.init(ictx),
  };
}
