import { machinePrimitive, type MachineHosts } from '../zmachine/machine.ts';
import type { PrimitiveOf } from '../types.ts';

/** zmachine-light: the same VM on a network-light (default route via the NR; no planetary, no public IP). */
export function zmachineLightPrimitive(h: MachineHosts): PrimitiveOf<'zmachine-light'> {
  const m = machinePrimitive('zmachine-light', h);
  return {
    provision: (ctx, config) => m.provision(ctx, config),
    deprovision: (ctx) => m.deprovision(ctx),
    pause: (ctx) => m.pause(ctx),
    resume: (ctx) => m.resume(ctx),
    init: (ictx) => m.init(ictx),
    idle: (ictx) => m.idle(ictx),
  };
}
