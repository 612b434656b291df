// Every workload type zos knows, keyed by its wire name; WorkloadType derives from the keys.
import { gatewayFqdnProxy } from './gateway-fqdn-proxy.ts';
import { gatewayNameProxy } from './gateway-name-proxy.ts';
import { ip } from './ip.ts';
import { ipv4 } from './ipv4.ts';
import type { WorkloadModel } from './model.ts';
import { networkLight } from './network-light.ts';
import { network } from './network.ts';
import { qsfs } from './qsfs.ts';
import { volume } from './volume.ts';
import { zdb } from './zdb.ts';
import { zlogs } from './zlogs.ts';
import { zmachineLight } from './zmachine-light.ts';
import { zmachine } from './zmachine.ts';
import { zmount } from './zmount.ts';

export const workloadTypes = {
  zmount,
  volume,
  zdb,
  network,
  'network-light': networkLight,
  zmachine,
  'zmachine-light': zmachineLight,
  ipv4,
  ip,
  'gateway-name-proxy': gatewayNameProxy,
  'gateway-fqdn-proxy': gatewayFqdnProxy,
  qsfs,
  zlogs,
} as const;

export type WorkloadType = keyof typeof workloadTypes;
export type WorkloadData<T extends WorkloadType> = (typeof workloadTypes)[T] extends WorkloadModel<infer D> ? D : never;

export const WORKLOAD_TYPES = Object.keys(workloadTypes) as WorkloadType[];

export function isWorkloadType(t: string): t is WorkloadType {
  return Object.hasOwn(workloadTypes, t);
}

/** The model for a type name, erased to `unknown` data for generic callers. */
export function modelOf(t: string): WorkloadModel<unknown> | undefined {
  return isWorkloadType(t) ? (workloadTypes[t] as unknown as WorkloadModel<unknown>) : undefined;
}
