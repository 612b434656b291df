/** create_node_contract and update_node_contract (tfchain grid_contract.rs). */
import type { CallArgs } from '../../runtime/pallet.ts';
import type { CallContext } from '../../runtime/context.ts';
import { DispatchFailure } from '../../runtime/errors.ts';
import { ensureSolutionProvider, fail, insertContract, signerTwin } from './lifecycle.ts';
import { activeRentContractFor, contractIdByNodeAndHash, dedicatedNodeExtraFee, encodeContract, getContract, putContract } from './storage.ts';
import { getFarm, getNode, nodeAvailable } from './tfgrid.ts';
import { MAX_DEPLOYMENT_DATA_LENGTH, MAX_NODE_CONTRACT_PUBLIC_IPS, PALLET } from './types.ts';

const optionalId = (opt: any): number | null => (opt.isSome ? opt.unwrap().toNumber() : null);

function deploymentData(ctx: CallContext, codec: any): Uint8Array {
  const data: Uint8Array = codec.toU8a(true);
  // tfchain cannot even decode a longer BoundedVec; there is no pallet error for it.
  if (data.length > MAX_DEPLOYMENT_DATA_LENGTH) throw new DispatchFailure('Other', undefined, undefined, 'deployment_data exceeds MaxDeploymentDataLength');
  return data;
}

/** True when another live contract already holds (node, hash). */
function hashTaken(ctx: CallContext, nodeId: number, hash: Uint8Array, except = 0): boolean {
  const existing = contractIdByNodeAndHash(ctx, nodeId, hash);
  if (existing === 0 || existing === except) return false;
  const contract = getContract(ctx, existing);
  return contract !== null && contract.state.kind !== 'Deleted';
}

export function createNodeContract(ctx: CallContext, a: CallArgs): void {
  const twinId = signerTwin(ctx);
  const nodeId = (a.node_id as any).toNumber();
  const node = getNode(ctx, nodeId) ?? fail(ctx, 'NodeNotExists');
  const farm = getFarm(ctx, node.farmId) ?? fail(ctx, 'FarmNotExists');
  if (!nodeAvailable(ctx, nodeId)) fail(ctx, 'NodeNotAvailableToDeploy');

  // A rented node takes deployments from its renter only; a dedicated node only under a rent contract.
  let ownsRent = false;
  const rentId = activeRentContractFor(ctx, nodeId);
  if (rentId !== null) {
    const rent = getContract(ctx, rentId) ?? fail(ctx, 'ContractNotExists');
    if (rent.twinId !== twinId) fail(ctx, 'NodeHasRentContract');
    ownsRent = true;
  }
  const dedicated = dedicatedNodeExtraFee(ctx, nodeId) > 0n || farm.dedicatedFarm;
  if (dedicated && !ownsRent) fail(ctx, 'NodeNotAvailableToDeploy');

  const deploymentHash: Uint8Array = (a.deployment_hash as any).toU8a();
  if (hashTaken(ctx, nodeId, deploymentHash)) fail(ctx, 'ContractIsNotUnique');
  const publicIps = (a.public_ips as any).toNumber();
  if (publicIps > MAX_NODE_CONTRACT_PUBLIC_IPS) fail(ctx, 'FarmHasNotEnoughPublicIPs');
  const solutionProviderId = optionalId(a.solution_provider_id);
  ensureSolutionProvider(ctx, solutionProviderId);

  insertContract(
    ctx,
    twinId,
    { kind: 'NodeContract', nodeId, deploymentHash, deploymentData: deploymentData(ctx, a.deployment_data), publicIps, publicIpsList: [] },
    solutionProviderId,
  );
}

export function updateNodeContract(ctx: CallContext, a: CallArgs): void {
  const twinId = signerTwin(ctx);
  const id = (a.contract_id as any).toNumber();
  const contract = getContract(ctx, id) ?? fail(ctx, 'ContractNotExists');
  if (contract.twinId !== twinId) fail(ctx, 'TwinNotAuthorizedToUpdateContract');
  if (contract.state.kind === 'GracePeriod') fail(ctx, 'CannotUpdateContractInGraceState');
  const t = contract.contractType;
  if (t.kind !== 'NodeContract') return fail(ctx, 'InvalidContractType');

  const deploymentHash: Uint8Array = (a.deployment_hash as any).toU8a();
  if (hashTaken(ctx, t.nodeId, deploymentHash, id)) fail(ctx, 'ContractIsNotUnique');
  const s = ctx.store(PALLET);
  s.remove('ContractIDByNodeIDAndHash', t.nodeId, t.deploymentHash);
  s.put('ContractIDByNodeIDAndHash', [t.nodeId, deploymentHash], id);
  const updated = { ...contract, contractType: { ...t, deploymentHash, deploymentData: deploymentData(ctx, a.deployment_data) } };
  putContract(ctx, updated);
  ctx.deposit(PALLET, 'ContractUpdated', encodeContract(updated));
}
