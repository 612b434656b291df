import type { DiskStore, VolumeStore } from '../host/storage/types.ts';
import type { NetworkResources } from '../host/network/index.ts';
import type { PrimitiveRegistry } from './types.ts';
import { networkPrimitive } from './network/index.ts';
import { networkLightPrimitive } from './network-light/index.ts';
import { volumePrimitive } from './volume/index.ts';
import { zmountPrimitive } from './zmount/index.ts';

/** The host services primitives are built with, as interfaces (node/host/index.ts provides them). */
export interface PrimitiveHosts {
  storage: DiskStore & VolumeStore;
  network: NetworkResources;
}

/** The workload types this node provisions, keyed by zos type name; what is absent is refused at deploy. */
export function primitives(hosts: PrimitiveHosts): PrimitiveRegistry {
  return {
    zmount: zmountPrimitive(hosts.storage),
    volume: volumePrimitive(hosts.storage),
    network: networkPrimitive(hosts.network),
    'network-light': networkLightPrimitive(hosts.network),
  };
}
