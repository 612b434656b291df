import { z } from 'zod';
import { goBool, goStruct } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

export const ipSchema = goStruct({ v4: goBool(), v6: goBool() });
export type PublicIP = z.infer<typeof ipSchema>;

/** Result of `ip` and `ipv4`: CIDR strings and the gateway IP. */
export interface PublicIPResult {
  ip: string;
  ip6: string;
  gateway: string;
}

export const ip: WorkloadModel<PublicIP> = {
  type: 'ip',
  schema: ipSchema,
  challenge: (d) => `${d.v4}${d.v6}`,
  capacity: (d) => ({ ...zeroCapacity(), ipv4u: d.v4 ? 1 : 0 }),
  validate: (d) => (!d.v4 && !d.v6 ? 'public ip workload with no selections' : undefined),
  updatable: false,
  pausable: false,
  sharable: false,
};
