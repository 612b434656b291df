import type { VolumeStore } from '../../host/storage/types.ts';
import type { Primitive } from '../types.ts';
import { sizedPrimitive } from './sized.ts';

/** Validated volume data (node/model volume); size in bytes. */
export interface VolumeConfig {
  size: number;
}

/** zos result data: `{"id": wlid}`. */
export interface VolumeResult {
  id: string;
}

/** A btrfs subvolume named after the workload id with a quota of `size` bytes; resizable, never below used. */
export function volumePrimitive(volumes: VolumeStore): Primitive<VolumeConfig, VolumeResult> {
  return sizedPrimitive<VolumeConfig, VolumeResult>(
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
