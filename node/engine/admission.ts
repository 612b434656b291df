import { zosErrors } from '../errors.ts';
import type { Capacity } from '../model/model.ts';

export interface MemoryState {
  /** Total RAM of the node. */
  total: number;
  /** RAM currently available on the host (os.freemem or MemAvailable). */
  available: number;
  /** System reserve (max(10 % RAM, 2 GiB)). */
  reserved: number;
}

/**
 * zos admission (pkg/primitives/statistics.go) checks memory only:
 * usable = total − max(Σ MRU of active workloads + reserved, total − available).
 */
export function admitMemory(required: Capacity, activeMru: number, mem: MemoryState): void {
  if (required.mru === 0) return;
  const usable = mem.total - Math.max(activeMru + mem.reserved, mem.total - mem.available);
  if (required.mru > usable) throw zosErrors.insufficientMemory(required.mru, Math.max(usable, 0));
}

/** Disk admission (beyond zos, which leaves it to storaged): Σ SRU of active workloads + reserve + required ≤ total SRU. */
export function admitDisk(required: Capacity, activeSru: number, totalSru: number, reservedSru: number): void {
  if (required.sru === 0) return;
  const free = totalSru - activeSru - reservedSru;
  if (required.sru > free) throw zosErrors.insufficientDisk(required.sru, Math.max(free, 0));
}
