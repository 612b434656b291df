// Builders for deployments in model tests; every field a client would send, spelled out.
import { parseDeployment, type Deployment } from '../../../node/model/index.ts';

export interface WorkloadInput {
  name: string;
  type: string;
  data: unknown;
  version?: number;
  metadata?: string;
  description?: string;
}

export function wl(w: WorkloadInput) {
  return {
    version: w.version ?? 0,
    name: w.name,
    type: w.type,
    data: w.data,
    metadata: w.metadata ?? '',
    description: w.description ?? '',
    result: { created: 0, state: '', message: '', data: null },
  };
}

export function deployment(
  workloads: WorkloadInput[],
  opts: Partial<{ version: number; twin: number; contract: number; metadata: string; description: string; requests: { twin_id: number; required: boolean; weight: number }[]; weight_required: number; style: string }> = {},
): Deployment {
  const twin = opts.twin ?? 42;
  return parseDeployment({
    version: opts.version ?? 0,
    twin_id: twin,
    contract_id: opts.contract ?? 7,
    metadata: opts.metadata ?? '',
    description: opts.description ?? '',
    expiration: 0,
    signature_requirement: {
      requests: opts.requests ?? [{ twin_id: twin, required: false, weight: 1 }],
      weight_required: opts.weight_required ?? 1,
      signatures: [],
      signature_style: opts.style ?? '',
    },
    workloads: workloads.map(wl),
  });
}

export const KEY32 = 'AB'.repeat(32);
export const key32Lower = 'ab'.repeat(32);
