/** create_rent_contract and set_dedicated_node_extra_fee: renting a whole node. */
import type { CallArgs } from '../../runtime/pallet.ts';
import type { CallContext } from '../../runtime/context.ts';
import { ensureSolutionProvider, fail, insertContract, signerTwin } from './lifecycle.ts';
import { activeNodeContractIds, activeRentContractFor } from './storage.ts';
import { getFarm, getNode } from './tfgrid.ts';
import { PALLET } from './types.ts';

export function createRentContract(ctx: CallContext, a: CallArgs): void {
  const twinId = signerTwin(ctx);
  const nodeId = (a.node_id as any).toNumber();
  if (activeRentContractFor(ctx, nodeId) !== null) fail(ctx, 'NodeHasRentContract');
  const node = getNode(ctx, nodeId) ?? fail(ctx, 'NodeNotExists');
  if (getFarm(ctx, node.farmId) === null) fail(ctx, 'FarmNotExists');
  if (activeNodeContractIds(ctx, nodeId).length > 0) fail(ctx, 'NodeHasActiveContracts');
  const sp = a.solution_provider_id as any;
  const solutionProviderId = sp.isSome ? sp.unwrap().toNumber() : null;
  ensureSolutionProvider(ctx, solutionProviderId);
  insertContract(ctx, twinId, { kind: 'RentContract', nodeId }, solutionProviderId);
}

/** The farmer sets a monthly fee (mUSD) that makes the node dedicated (rent-only). */
export function setDedicatedNodeExtraFee(ctx: CallContext, a: CallArgs): void {
  const twinId = signerTwin(ctx);
  const nodeId = (a.node_id as any).toNumber();
  const node = getNode(ctx, nodeId) ?? fail(ctx, 'NodeNotExists');
  const farm = getFarm(ctx, node.farmId) ?? fail(ctx, 'FarmNotExists');
  if (farm.twinId !== twinId) fail(ctx, 'UnauthorizedToSetExtraFee');
  if (activeNodeContractIds(ctx, nodeId).length > 0) fail(ctx, 'NodeHasActiveContracts');
  const extraFee = (a.extra_fee as any).toBigInt();
  ctx.store(PALLET).put('DedicatedNodesExtraFee', [nodeId], extraFee);
  ctx.deposit(PALLET, 'NodeExtraFeeSet', { nodeId, extraFee });
}
