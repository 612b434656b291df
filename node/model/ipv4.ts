import { z } from 'zod';
import { goStruct } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

export const ipv4Schema = goStruct({});
export type PublicIPv4 = z.infer<typeof ipv4Schema>;

/** Deprecated public IPv4; the data is empty and adds nothing to the challenge. */
export const ipv4: WorkloadModel<PublicIPv4> = {
  type: 'ipv4',
  schema: ipv4Schema,
  challenge: () => '',
  capacity: () => ({ ...zeroCapacity(), ipv4u: 1 }),
  validate: () => undefined,
  updatable: false,
  pausable: false,
  sharable: false,
};
