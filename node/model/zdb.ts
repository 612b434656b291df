import { z } from 'zod';
import { goBool, goString, goStruct, goUint } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

export const ZDB_MODES = ['user', 'seq'] as const;

export const zdbSchema = goStruct({
  size: goUint(64),
  mode: goString(),
  password: goString(),
  public: goBool(),
});
export type Zdb = z.infer<typeof zdbSchema>;

/** Result JSON keys are untagged Go fields, hence capitalised. */
export interface ZdbResult {
  Namespace: string;
  IPs: string[];
  Port: number;
}

export const zdb: WorkloadModel<Zdb> = {
  type: 'zdb',
  schema: zdbSchema,
  challenge: (d) => `${d.size}${d.mode}${d.password}${d.public}`,
  capacity: (d) => ({ ...zeroCapacity(), hru: d.size }),
  validate: (d) => {
    if (d.size === 0) return 'invalid size';
    if (!(ZDB_MODES as readonly string[]).includes(d.mode)) return 'invalid mode';
    return undefined;
  },
  updatable: true,
  pausable: true,
  sharable: false,
};
