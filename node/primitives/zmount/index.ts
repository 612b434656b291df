import { StorageError } from '../../host/storage/errors.ts';
import type { DiskStore } from '../../host/storage/types.ts';
import { sizedPrimitive } from '../shared/sized.ts';
import type { PrimitiveOf } from '../types.ts';

/**
 * A raw sparse disk file named after the workload id; it only grows. (zos also refuses to
 * resize while a VM has it mounted; that check belongs to whoever knows the VMs.)
 */
export function zmountPrimitive(disks: DiskStore): PrimitiveOf<'zmount'> {
  return sizedPrimitive(
    'zmount',
    {
      size: async (name, opts) => (await disks.diskInfo(name, opts))?.size,
      // createDisk removes its file if it fails halfway.
      create: (name, size, opts) => disks.createDisk(name, size, opts),
      resize: async (name, from, to, opts) => {
        if (to < from) {
          throw new StorageError('SHRINK_NOT_ALLOWED', `cannot shrink zmount ${name} from ${from} to ${to} bytes`);
        }
        return disks.resizeDisk(name, to, opts);
      },
      remove: (name, opts) => disks.deleteDisk(name, opts),
    },
    (ctx) => ({ volume_id: ctx.workload.id }),
  );
}
