import { ipPrimitive, type PublicIpHosts } from '../ip/index.ts';
import type { PrimitiveOf } from '../types.ts';

/** The deprecated `ipv4`: an `ip` workload with v4 only (its data is `{}`). */
export function ipv4Primitive(h: PublicIpHosts): PrimitiveOf<'ipv4'> {
  const ip = ipPrimitive(h, 'ipv4');
  return {
    provision: (ctx) => ip.provision(ctx, { v4: true, v6: false }),
    deprovision: (ctx) => ip.deprovision(ctx, { v4: true, v6: false }),
    init: (ictx) => ip.init!({ ...ictx, workloads: ictx.workloads.map((w) => ({ ...w, data: { v4: true, v6: false } })) }),
  };
}
