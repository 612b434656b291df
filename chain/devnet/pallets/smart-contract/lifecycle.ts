/**
 * Creating and removing contracts: the storage every contract type shares, the
 * farm IP reservation of node contracts and the cancel events.
 */
import type { CallContext, HookContext } from '../../runtime/context.ts';
import {
  activeRentContractFor, addActiveNodeContract, contractIdByNodeAndHash, nextContractId, putBillingInfo, putContract, putPaymentState, removeActiveNodeContract,
  scheduleBilling, unscheduleBilling, encodeContract,
} from './storage.ts';
import { getFarm, getNode, putFarmPublicIps, twinIdOf } from './tfgrid.ts';
import { CONTRACT_VERSION, PALLET, type ContractTypeValue, type ContractValue, type PublicIpValue, type SmartContractError } from './types.ts';

export const fail = (ctx: HookContext, error: SmartContractError): never => ctx.fail(PALLET, error);

/** The signer's twin id, or TwinNotExists. */
export function signerTwin(ctx: CallContext): number {
  return twinIdOf(ctx, ctx.signer()) ?? fail(ctx, 'TwinNotExists');
}

export function ensureSolutionProvider(ctx: HookContext, id: number | null): void {
  if (id === null) return;
  const sp = ctx.store(PALLET).get('SolutionProviders', id) as any;
  if (sp === null) fail(ctx, 'NoSuchSolutionProvider');
  if (!sp.approved.isTrue) fail(ctx, 'SolutionProviderNotApproved');
}

/** Takes the first `count` unreserved IPs of the node's farm for the contract. */
function reserveIps(ctx: HookContext, contractId: number, nodeId: number, count: number): PublicIpValue[] {
  if (count === 0) return [];
  const node = getNode(ctx, nodeId) ?? fail(ctx, 'NodeNotExists');
  const farm = getFarm(ctx, node.farmId) ?? fail(ctx, 'FarmNotExists');
  if (farm.publicIps.length < count) fail(ctx, 'FarmHasNotEnoughPublicIPs');
  const reserved: PublicIpValue[] = [];
  const ips = farm.publicIps.map((ip) => {
    if (reserved.length === count || ip.contractId !== 0) return ip;
    const taken = { ...ip, contractId };
    reserved.push(taken);
    return taken;
  });
  if (reserved.length < count) fail(ctx, 'FarmHasNotEnoughPublicIPsFree');
  putFarmPublicIps(ctx, farm.id, ips);
  return reserved;
}

/** Hands the contract's IPs back to the farm; emits IPsFreed when it held any. */
function freeIps(ctx: HookContext, contract: ContractValue): void {
  const t = contract.contractType;
  if (t.kind !== 'NodeContract' || t.publicIpsList.length === 0) return;
  const node = getNode(ctx, t.nodeId);
  const farm = node && getFarm(ctx, node.farmId);
  if (farm) {
    const ips = farm.publicIps.map((ip) => (ip.contractId === contract.contractId ? { ...ip, contractId: 0 } : ip));
    putFarmPublicIps(ctx, farm.id, ips);
  }
  ctx.deposit(PALLET, 'IPsFreed', { contractId: contract.contractId, publicIps: t.publicIpsList });
}

/**
 * Writes a new contract (tfchain `_create_contract`): id, IP reservation, billing
 * loop slot, payment state, billing information and the node/hash indexes; emits
 * ContractCreated.
 */
export function insertContract(ctx: HookContext, twinId: number, contractType: ContractTypeValue, solutionProviderId: number | null): ContractValue {
  const id = nextContractId(ctx);
  if (contractType.kind === 'NodeContract') {
    contractType = { ...contractType, publicIpsList: reserveIps(ctx, id, contractType.nodeId, contractType.publicIps) };
  }
  const contract: ContractValue = { version: CONTRACT_VERSION, state: { kind: 'Created' }, contractId: id, twinId, contractType, solutionProviderId };
  scheduleBilling(ctx, id);
  putContract(ctx, contract);
  const now = ctx.nowSeconds;
  putPaymentState(ctx, id, {
    standardReserve: 0n, additionalReserve: 0n, standardOverdraft: 0n, additionalOverdraft: 0n, lastUpdatedSeconds: now, cycles: 0,
  });
  putBillingInfo(ctx, id, { previousNuReported: 0, lastUpdated: now, amountUnbilled: 0n });
  const s = ctx.store(PALLET);
  if (contractType.kind === 'NodeContract') {
    s.put('ContractIDByNodeIDAndHash', [contractType.nodeId, contractType.deploymentHash], id);
    addActiveNodeContract(ctx, contractType.nodeId, id);
  } else if (contractType.kind === 'NameContract') {
    s.put('ContractIDByNameRegistration', [contractType.name], id);
  } else {
    s.put('ActiveRentContractForNode', [contractType.nodeId], id);
  }
  ctx.deposit(PALLET, 'ContractCreated', encodeContract(contract));
  return contract;
}

/** Drops a node contract from its node's active list (first step of any termination). */
export function deactivate(ctx: HookContext, contract: ContractValue): void {
  if (contract.contractType.kind === 'NodeContract') removeActiveNodeContract(ctx, contract.contractType.nodeId, contract.contractId);
}

/**
 * Deletes every trace of a contract (tfchain `remove_contract`) and emits the
 * type's cancel event. Billing must have been settled before.
 */
export function removeContract(ctx: HookContext, contract: ContractValue): void {
  const s = ctx.store(PALLET);
  const id = contract.contractId;
  const t = contract.contractType;
  deactivate(ctx, contract);
  if (t.kind === 'NodeContract') {
    freeIps(ctx, contract);
    if (contractIdByNodeAndHash(ctx, t.nodeId, t.deploymentHash) === id) s.remove('ContractIDByNodeIDAndHash', t.nodeId, t.deploymentHash);
    s.remove('NodeContractResources', id);
    ctx.deposit(PALLET, 'NodeContractCanceled', { contractId: id, nodeId: t.nodeId, twinId: contract.twinId });
  } else if (t.kind === 'NameContract') {
    s.remove('ContractIDByNameRegistration', t.name);
    ctx.deposit(PALLET, 'NameContractCanceled', { contractId: id });
  } else {
    if (activeRentContractFor(ctx, t.nodeId) === id) s.remove('ActiveRentContractForNode', t.nodeId);
    ctx.deposit(PALLET, 'RentContractCanceled', { contractId: id });
  }
  s.remove('Contracts', id);
  s.remove('ContractBillingInformationByID', id);
  s.remove('ContractPaymentState', id);
  s.remove('ContractLock', id);
  unscheduleBilling(ctx, id);
}
