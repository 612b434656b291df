/**
 * Read helpers other pallets and tests use to ask about contracts, as plain
 * values (never codecs).
 */
import type { HookContext } from '../../runtime/context.ts';
import {
  activeNodeContractIds, activeRentContractFor, contractIdByName, contractIdByNodeAndHash, getContract, getPaymentState, usedResources,
} from './storage.ts';
import type { ContractValue, PaymentStateValue, ResourcesValue } from './types.ts';

export type { ContractValue, ContractStateValue, ContractTypeValue, PaymentStateValue, ResourcesValue } from './types.ts';

/** Contracts(id) as a plain value, or null. */
export const contractById = (ctx: HookContext, id: number): ContractValue | null => getContract(ctx, id);

/** Id of the live node contract for (node, deployment hash), or null. */
export function nodeContractByHash(ctx: HookContext, nodeId: number, deploymentHash: Uint8Array): number | null {
  const id = contractIdByNodeAndHash(ctx, nodeId, deploymentHash);
  return id === 0 ? null : id;
}

/** Id of the name contract holding `name`, or null. */
export function nameContractId(ctx: HookContext, name: string): number | null {
  const id = contractIdByName(ctx, name);
  return id === 0 ? null : id;
}

/** ActiveNodeContracts(node). */
export const activeNodeContracts = (ctx: HookContext, nodeId: number): number[] => activeNodeContractIds(ctx, nodeId);

/** ActiveRentContractForNode(node), or null. */
export const rentContractOfNode = (ctx: HookContext, nodeId: number): number | null => activeRentContractFor(ctx, nodeId);

/** Whether a node carries any node or rent contract (deleting it or powering it down must be refused). */
export const nodeHasContracts = (ctx: HookContext, nodeId: number): boolean =>
  activeNodeContractIds(ctx, nodeId).length > 0 || activeRentContractFor(ctx, nodeId) !== null;

/** ContractPaymentState(id), or null. */
export const paymentState = (ctx: HookContext, id: number): PaymentStateValue | null => getPaymentState(ctx, id);

/** NodeContractResources(id).used (zeroes when nothing was reported). */
export const contractResources = (ctx: HookContext, id: number): ResourcesValue => usedResources(ctx, id);
