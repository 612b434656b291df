import type { VolumeStore } from '../../host/storage/types.ts';
import { sizedPrimitive } from '../shared/sized.ts';
import type { PrimitiveOf } from '../types.ts';

/** A btrfs subvolume named after the workload id with a quota of `size` bytes; resizable, never below used. */
export function volumePrimitive(volumes: VolumeStore): PrimitiveOf<'volume'> {
  return sizedPrimitive(
    'volume',
    {
      size: async (name, opts) => (await volumes.subvolumeInfo(name, opts))?.size,
      // createSubvolume deletes the subvolume again if setting its quota fails.
      create: (name, size, opts) => volumes.createSubvolume(name, size, opts),
      // resizeSubvolume refuses a quota below the bytes in use (BELOW_USED).
      resize: (name, _from, to, opts) => volumes.resizeSubvolume(name, to, opts),
      remove: (name, opts) => volumes.deleteSubvolume(name, opts),
    },
    (ctx) => ({ id: ctx.workload.id }),
  );
}
