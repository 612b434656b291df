/**
 * Storage declarations of SmartContractModule (spec 152) and typed accessors that
 * convert between codecs and the plain values in types.ts.
 */
import { u8aToHex, u8aToString } from '@polkadot/util';
import { seq, tuple, u32, u64, u8, type Ty } from '../../metadata/scale-info.ts';
import type { HookContext } from '../../runtime/context.ts';
import type { StorageDecl } from '../../runtime/pallet.ts';
import {
  Contract, ContractBillingInformation, ContractLock, ContractPaymentState, ContractResources, HexHash, NameContractName, PALLET,
  ServiceContract, SolutionProvider, StorageVersion,
  type ContractStateValue, type ContractTypeValue, type ContractValue, type PaymentStateValue, type ResourcesValue,
} from './types.ts';

const map = (key: Ty, value: Ty, modifier: StorageDecl['modifier'] = 'Default'): Omit<StorageDecl, 'name'> => ({
  modifier,
  type: { map: { hashers: ['Blake2_128Concat'], key, value } },
});

/** Default BillingFrequency of tfchain (fallback value in metadata). */
export const TFCHAIN_BILLING_FREQUENCY = 600;

export const smartContractStorage: StorageDecl[] = [
  { name: 'Contracts', ...map(u64, Contract, 'Optional') },
  { name: 'ContractBillingInformationByID', ...map(u64, ContractBillingInformation) },
  { name: 'NodeContractResources', ...map(u64, ContractResources) },
  {
    name: 'ContractIDByNodeIDAndHash',
    modifier: 'Default',
    type: { map: { hashers: ['Blake2_128Concat', 'Blake2_128Concat'], key: tuple(u32, HexHash), value: u64 } },
  },
  { name: 'ActiveNodeContracts', ...map(u32, seq(u64)) },
  { name: 'ContractsToBillAt', ...map(u64, seq(u64)) },
  { name: 'ContractLock', ...map(u64, ContractLock) },
  { name: 'ContractIDByNameRegistration', ...map(NameContractName, u64) },
  { name: 'ActiveRentContractForNode', ...map(u32, u64, 'Optional') },
  { name: 'ContractID', modifier: 'Default', type: { plain: u64 } },
  { name: 'SolutionProviders', ...map(u64, SolutionProvider, 'Optional') },
  { name: 'SolutionProviderID', modifier: 'Default', type: { plain: u64 } },
  { name: 'PalletVersion', modifier: 'Default', type: { plain: StorageVersion }, default: 'V10' },
  { name: 'BillingFrequency', modifier: 'Default', type: { plain: u64 }, default: TFCHAIN_BILLING_FREQUENCY },
  { name: 'ServiceContracts', ...map(u64, ServiceContract, 'Optional') },
  { name: 'ServiceContractID', modifier: 'Default', type: { plain: u64 } },
  { name: 'CurrentMigrationStage', modifier: 'Optional', type: { plain: u8 } },
  { name: 'DedicatedNodesExtraFee', ...map(u32, u64) },
  { name: 'ContractPaymentState', ...map(u64, ContractPaymentState, 'Optional') },
];

const sc = (ctx: HookContext) => ctx.store(PALLET);

// ---- Contracts ----

function decodeState(s: any): ContractStateValue {
  if (s.isDeleted) return { kind: 'Deleted', cause: s.asDeleted.toString() };
  if (s.isGracePeriod) return { kind: 'GracePeriod', block: s.asGracePeriod.toNumber() };
  return { kind: 'Created' };
}

function decodeType(t: any): ContractTypeValue {
  if (t.isNodeContract) {
    const n = t.asNodeContract;
    return {
      kind: 'NodeContract',
      nodeId: n.nodeId.toNumber(),
      deploymentHash: n.deploymentHash.toU8a(),
      deploymentData: n.deploymentData.toU8a(true),
      publicIps: n.publicIps.toNumber(),
      publicIpsList: n.publicIpsList.map((ip: any) => ({
        ip: u8aToHex(ip.ip.toU8a(true)),
        gateway: u8aToHex(ip.gateway.toU8a(true)),
        contractId: ip.contractId.toNumber(),
      })),
    };
  }
  if (t.isNameContract) return { kind: 'NameContract', name: u8aToString(t.asNameContract.name.toU8a(true)) };
  return { kind: 'RentContract', nodeId: t.asRentContract.nodeId.toNumber() };
}

export function decodeContract(c: any): ContractValue {
  return {
    version: c.version.toNumber(),
    state: decodeState(c.state),
    contractId: c.contractId.toNumber(),
    twinId: c.twinId.toNumber(),
    contractType: decodeType(c.contractType),
    solutionProviderId: c.solutionProviderId.isSome ? c.solutionProviderId.unwrap().toNumber() : null,
  };
}

/** createType input of a Contract (also the data of ContractCreated/ContractUpdated). */
export function encodeContract(c: ContractValue): unknown {
  const state =
    c.state.kind === 'Created' ? { Created: null } : c.state.kind === 'Deleted' ? { Deleted: c.state.cause } : { GracePeriod: c.state.block };
  const t = c.contractType;
  const contractType =
    t.kind === 'NodeContract'
      ? {
          NodeContract: {
            nodeId: t.nodeId,
            deploymentHash: u8aToHex(t.deploymentHash),
            // A raw Uint8Array would be read as SCALE (length-prefixed); hex is taken as the content.
            deploymentData: u8aToHex(t.deploymentData),
            publicIps: t.publicIps,
            publicIpsList: t.publicIpsList,
          },
        }
      : t.kind === 'NameContract'
        ? { NameContract: { name: t.name } }
        : { RentContract: { nodeId: t.nodeId } };
  return { version: c.version, state, contractId: c.contractId, twinId: c.twinId, contractType, solutionProviderId: c.solutionProviderId };
}

export function getContract(ctx: HookContext, id: number): ContractValue | null {
  const c = sc(ctx).get('Contracts', id);
  return c === null ? null : decodeContract(c);
}

export const putContract = (ctx: HookContext, c: ContractValue): void => sc(ctx).put('Contracts', [c.contractId], encodeContract(c));

// ---- id lists ----

const idList = (ctx: HookContext, item: string, key: number): number[] =>
  (sc(ctx).get(item, key) as any).map((x: any) => x.toNumber());

function putIdList(ctx: HookContext, item: string, key: number, ids: number[]): void {
  if (ids.length === 0) sc(ctx).remove(item, key);
  else sc(ctx).put(item, [key], ids);
}

export const activeNodeContractIds = (ctx: HookContext, nodeId: number): number[] => idList(ctx, 'ActiveNodeContracts', nodeId);

export function addActiveNodeContract(ctx: HookContext, nodeId: number, id: number): void {
  putIdList(ctx, 'ActiveNodeContracts', nodeId, [...activeNodeContractIds(ctx, nodeId), id]);
}

export function removeActiveNodeContract(ctx: HookContext, nodeId: number, id: number): void {
  putIdList(ctx, 'ActiveNodeContracts', nodeId, activeNodeContractIds(ctx, nodeId).filter((x) => x !== id));
}

export const billingFrequency = (ctx: HookContext): number => (sc(ctx).get('BillingFrequency') as any).toNumber();

export const contractsToBillAt = (ctx: HookContext, index: number): number[] => idList(ctx, 'ContractsToBillAt', index);

export function scheduleBilling(ctx: HookContext, id: number): void {
  const index = id % billingFrequency(ctx);
  putIdList(ctx, 'ContractsToBillAt', index, [...contractsToBillAt(ctx, index), id]);
}

export function unscheduleBilling(ctx: HookContext, id: number): void {
  const index = id % billingFrequency(ctx);
  putIdList(ctx, 'ContractsToBillAt', index, contractsToBillAt(ctx, index).filter((x) => x !== id));
}

// ---- lookups ----

/** The contract id registered for (node, hash); 0 when none. */
export const contractIdByNodeAndHash = (ctx: HookContext, nodeId: number, hash: Uint8Array): number =>
  (sc(ctx).get('ContractIDByNodeIDAndHash', nodeId, hash) as any).toNumber();

export const contractIdByName = (ctx: HookContext, name: string): number => (sc(ctx).get('ContractIDByNameRegistration', name) as any).toNumber();

export function activeRentContractFor(ctx: HookContext, nodeId: number): number | null {
  const v = sc(ctx).get('ActiveRentContractForNode', nodeId) as any;
  return v === null ? null : v.toNumber();
}

export const dedicatedNodeExtraFee = (ctx: HookContext, nodeId: number): bigint =>
  (sc(ctx).get('DedicatedNodesExtraFee', nodeId) as any).toBigInt();

export function usedResources(ctx: HookContext, contractId: number): ResourcesValue {
  const u = (sc(ctx).get('NodeContractResources', contractId) as any).used;
  return { hru: u.hru.toBigInt(), sru: u.sru.toBigInt(), cru: u.cru.toBigInt(), mru: u.mru.toBigInt() };
}

// ---- payment state and billing information ----

export function getPaymentState(ctx: HookContext, id: number): PaymentStateValue | null {
  const p = sc(ctx).get('ContractPaymentState', id) as any;
  if (p === null) return null;
  return {
    standardReserve: p.standardReserve.toBigInt(),
    additionalReserve: p.additionalReserve.toBigInt(),
    standardOverdraft: p.standardOverdraft.toBigInt(),
    additionalOverdraft: p.additionalOverdraft.toBigInt(),
    lastUpdatedSeconds: p.lastUpdatedSeconds.toNumber(),
    cycles: p.cycles.toNumber(),
  };
}

export const putPaymentState = (ctx: HookContext, id: number, p: PaymentStateValue): void => sc(ctx).put('ContractPaymentState', [id], p);

export interface BillingInfoValue {
  previousNuReported: number;
  lastUpdated: number;
  amountUnbilled: bigint;
}

export function getBillingInfo(ctx: HookContext, id: number): BillingInfoValue {
  const b = sc(ctx).get('ContractBillingInformationByID', id) as any;
  return { previousNuReported: b.previousNuReported.toNumber(), lastUpdated: b.lastUpdated.toNumber(), amountUnbilled: b.amountUnbilled.toBigInt() };
}

export const putBillingInfo = (ctx: HookContext, id: number, b: BillingInfoValue): void =>
  sc(ctx).put('ContractBillingInformationByID', [id], b);

/** Next contract id (ContractID + 1), stored. */
export function nextContractId(ctx: HookContext): number {
  const id = (sc(ctx).get('ContractID') as any).toNumber() + 1;
  sc(ctx).put('ContractID', [], id);
  return id;
}
