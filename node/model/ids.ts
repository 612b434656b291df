// Deterministic names zos derives from ids (taps, bridges, network namespaces).
import { createHash } from 'node:crypto';
import { base58 } from '@scure/base';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest();

/** A deployment on this node: its twin and its contract. */
export interface DeploymentKey {
  twin: number;
  contract: number;
}

/** Global workload id `twin-contract-name`. */
export function workloadId(twin: number, contract: number, name: string): string {
  return `${twin}-${contract}-${name}`;
}

export function parseWorkloadId(id: string): { twin: number; contract: number; name: string } | undefined {
  const m = /^(\d+)-(\d+)-(.+)$/.exec(id);
  if (!m) return undefined;
  return { twin: Number(m[1]), contract: Number(m[2]), name: m[3]! };
}

/** WorkloadID.Unique(n): base58btc(md5("<wlid>:<n>")) cut to 13 characters. */
export function uniqueName(wlid: string, n: string): string {
  return base58.encode(md5(`${wlid}:${n}`)).slice(0, 13);
}

/** NetworkID(twin, name): base58(md5("<twin>:<name>")) cut to 13 characters. */
export function networkId(twin: number, network: string): string {
  return base58.encode(md5(`${twin}:${network}`)).slice(0, 13);
}
