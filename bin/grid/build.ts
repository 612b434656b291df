import { sign, type Deployment, type Workload } from '../../node/model/index.ts';
import type { ChainSigner } from '../../chain/client/index.ts';
import type { DeploymentSpec } from './spec.ts';

/**
 * Turns a validated DeploymentSpec into the zos Deployment a node accepts: version 0, the user's
 * twin as the single required signer, results empty. Pure.
 */

/** What goes into the deployment metadata and the contract's data field (<= 512 bytes). */
export function specMetadata(spec: DeploymentSpec): string {
  return spec.name ? JSON.stringify({ type: 'zos-cli', name: spec.name }) : '';
}

/** The deployment name stored by specMetadata, or '' (other clients' metadata is left alone). */
export function nameFromMetadata(metadata: string): string {
  try {
    const parsed: unknown = JSON.parse(metadata);
    if (parsed && typeof parsed === 'object' && 'name' in parsed && typeof parsed.name === 'string') return parsed.name;
  } catch {
    // not JSON: not ours
  }
  return '';
}

export function buildDeployment(spec: DeploymentSpec, twinId: number, contractId: number): Deployment {
  // Sorted by name: our node checks the contract hash against the deployment as reloaded from
  // its store (workloads in name order), so any other order fails with a hash mismatch.
  const ordered = [...spec.workloads].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const workloads: Workload[] = ordered.map((w) => ({
    version: 0,
    name: w.name,
    type: w.type,
    data: w.data,
    metadata: '',
    description: w.description,
    result: { created: 0, state: '', message: '', data: null },
  }));
  return {
    version: 0,
    twin_id: twinId,
    contract_id: contractId,
    metadata: specMetadata(spec),
    description: spec.description,
    expiration: 0,
    signature_requirement: { requests: [{ twin_id: twinId, required: false, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
    workloads,
  };
}

export function signedDeployment(spec: DeploymentSpec, twinId: number, contractId: number, pair: ChainSigner): Deployment {
  return sign(buildDeployment(spec, twinId, contractId), twinId, pair);
}
