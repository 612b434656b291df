// zmount and volume share their data (`size`) and its rules; only the storage behind differs.
import { z } from 'zod';
import { goStruct, goUint } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

export const sizedSchema = goStruct({ size: goUint(64) });
export type Sized = z.infer<typeof sizedSchema>;

export function sizedDiskModel(type: 'zmount' | 'volume'): WorkloadModel<Sized> {
  return {
    type,
    schema: sizedSchema,
    challenge: (d) => `${d.size}`,
    capacity: (d) => ({ ...zeroCapacity(), sru: d.size }),
    validate: (d) => (d.size === 0 ? 'invalid size' : undefined),
    updatable: true,
    pausable: false,
    sharable: false,
  };
}
