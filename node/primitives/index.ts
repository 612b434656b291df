import type { DiskStore, VolumeStore } from '../host/storage/index.ts';
import type { PrimitiveRegistry } from '../engine/provisioner.ts';
import { volumePrimitive } from './volume/index.ts';
import { zmountPrimitive } from './zmount/index.ts';

export interface PrimitiveHosts {
  storage: DiskStore & VolumeStore;
}

/** The workload types this node runs, keyed by zos type name. */
export function primitives(hosts: PrimitiveHosts): PrimitiveRegistry {
  return {
    zmount: zmountPrimitive(hosts.storage),
    volume: volumePrimitive(hosts.storage),
  };
}
