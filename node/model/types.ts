// Every workload type zos knows, keyed by its wire name; WorkloadType derives from the keys.
import { gatewayFqdnProxy } from './gateway-fqdn-proxy.ts';
import { gatewayNameProxy, type GatewayProxyResult } from './gateway-name-proxy.ts';
import { ip, type PublicIPResult } from './ip.ts';
import { ipv4 } from './ipv4.ts';
import type { WorkloadModel } from './model.ts';
import { networkLight } from './network-light.ts';
import { network } from './network.ts';
import { qsfs, type QsfsResult } from './qsfs.ts';
import { volume, type VolumeResult } from './volume.ts';
import { zdb, type ZdbResult } from './zdb.ts';
import { zlogs } from './zlogs.ts';
import { zmachineLight, type ZMachineLightResult } from './zmachine-light.ts';
import { zmachine, type ZMachineResult } from './zmachine.ts';
import { zmount, type ZMountResult } from './zmount.ts';

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

/**
 * `result.data` of a provisioned workload, per type (zos' result structs; `null` where zos
 * returns none). Every WorkloadType must have an entry: PrimitiveRegistry indexes this map.
 */
export interface WorkloadResults {
  zmount: ZMountResult;
  volume: VolumeResult;
  zdb: ZdbResult;
  network: null;
  'network-light': null;
  zmachine: ZMachineResult;
  'zmachine-light': ZMachineLightResult;
  ipv4: PublicIPResult;
  ip: PublicIPResult;
  'gateway-name-proxy': GatewayProxyResult;
  'gateway-fqdn-proxy': GatewayProxyResult;
  qsfs: QsfsResult;
  zlogs: null;
}
export type WorkloadResult<T extends WorkloadType> = WorkloadResults[T];

export const WORKLOAD_TYPES = Object.keys(workloadTypes) as WorkloadType[];

export function isWorkloadType(t: string): t is WorkloadType {
  return Object.hasOwn(workloadTypes, t);
}

/** The model for a type name, erased to `unknown` data for generic callers. */
export function modelOf(t: string): WorkloadModel<unknown> | undefined {
  return isWorkloadType(t) ? (workloadTypes[t] as unknown as WorkloadModel<unknown>) : undefined;
}
