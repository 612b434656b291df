// The shape every workload type module exports (zosbase gridtypes.WorkloadData): a strict
// schema for `data`, the hash challenge, the capacity it consumes and its validation.
import type { z } from 'zod';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export interface Capacity {
  cru: number;
  mru: number;
  sru: number;
  hru: number;
  ipv4u: number;
}

export const zeroCapacity = (): Capacity => ({ cru: 0, mru: 0, sru: 0, hru: 0, ipv4u: 0 });

export function addCapacity(a: Capacity, b: Capacity): Capacity {
  return { cru: a.cru + b.cru, mru: a.mru + b.mru, sru: a.sru + b.sru, hru: a.hru + b.hru, ipv4u: a.ipv4u + b.ipv4u };
}

/** A sibling workload of the same deployment, as validation sees it (raw data). */
export interface WorkloadRef {
  name: string;
  type: string;
  data: unknown;
}

/** Lets a workload check its dependencies inside the deployment (gridtypes.WorkloadGetter). */
export interface ValidationContext {
  get(name: string): WorkloadRef | undefined;
  byType(...types: string[]): WorkloadRef[];
}

export interface WorkloadModel<T> {
  readonly type: string;
  readonly schema: z.ZodType<T>;
  /** The data part of the challenge, exactly as Go fmt writes it. */
  challenge(data: T): string;
  capacity(data: T): Capacity;
  /** zos' validation error text, or undefined when valid. */
  validate(data: T, ctx: ValidationContext): string | undefined;
  /** Implements zos' Updater (accepted in `zos.deployment.update`). */
  readonly updatable: boolean;
  /** Implements zos' Pauser (grace period). */
  readonly pausable: boolean;
  /** One name per twin across deployments (networks). */
  readonly sharable: boolean;
}

export function contextOf(workloads: readonly WorkloadRef[]): ValidationContext {
  return {
    get: (name) => workloads.find((w) => w.name === name),
    byType: (...types) => workloads.filter((w) => types.includes(w.type)),
  };
}
