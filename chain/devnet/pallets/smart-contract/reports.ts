/** Reports a node sends about its contracts: used resources and public traffic (NRU). */
import type { CallArgs } from '../../runtime/pallet.ts';
import type { CallContext } from '../../runtime/context.ts';
import { nruCost } from './cost.ts';
import { fail, signerTwin } from './lifecycle.ts';
import { getBillingInfo, getContract, putBillingInfo } from './storage.ts';
import { getNode, nodeIdOfTwin, pricingPolicy } from './tfgrid.ts';
import { PALLET } from './types.ts';

/** The node of the signing twin; NodeNotExists when the twin runs no node. */
function reportingNode(ctx: CallContext): number {
  const nodeId = nodeIdOfTwin(ctx, signerTwin(ctx));
  if (nodeId === 0 || getNode(ctx, nodeId) === null) fail(ctx, 'NodeNotExists');
  return nodeId;
}

/** The contract a report is about when it is a live node contract; a report on another node's contract is refused. */
function reportedContract(ctx: CallContext, nodeId: number, contractId: number) {
  const contract = getContract(ctx, contractId);
  if (contract === null) return null;
  const t = contract.contractType;
  if (t.kind !== 'NodeContract') return null;
  if (t.nodeId !== nodeId) fail(ctx, 'NodeNotAuthorizedToComputeReport');
  return contract;
}

export function reportContractResources(ctx: CallContext, a: CallArgs): void {
  const nodeId = reportingNode(ctx);
  for (const report of a.contract_resources as any) {
    const contractId = report.contractId.toNumber();
    if (!reportedContract(ctx, nodeId, contractId)) continue;
    ctx.store(PALLET).put('NodeContractResources', [contractId], report);
    ctx.deposit(PALLET, 'UpdatedUsedResources', report);
  }
}

/** Adds the NRU cost to the contract's unbilled amount, charged at its next bill. */
export function addNruReports(ctx: CallContext, a: CallArgs): void {
  const nodeId = reportingNode(ctx);
  const policy = pricingPolicy(ctx, 1) ?? fail(ctx, 'PricingPolicyNotExists');
  for (const report of a.reports as any) {
    const contractId = report.contractId.toNumber();
    if (!reportedContract(ctx, nodeId, contractId)) continue;
    const nru = report.nru.toBigInt();
    const info = getBillingInfo(ctx, contractId);
    putBillingInfo(ctx, contractId, {
      previousNuReported: Number(nru),
      lastUpdated: ctx.nowSeconds,
      amountUnbilled: info.amountUnbilled + nruCost(nru, policy),
    });
    ctx.deposit(PALLET, 'NruConsumptionReportReceived', report);
  }
}
