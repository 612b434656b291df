import type { ApiPromise } from '@polkadot/api';
import type { Codec } from '@polkadot/types/types';
import { z } from 'zod';
import {
  balanceSchema,
  contractSchema,
  decode,
  deploymentHashBytes,
  farmSchema,
  nodePowerSchema,
  nodeSchema,
  pricingPolicySchema,
  twinSchema,
  uint,
} from './codec.ts';
import { mapRpcError } from './errors.ts';
import type { Balance, Contract, Farm, Node, NodePower, PricingPolicy, Twin } from './types.ts';

/**
 * One-shot typed storage reads (spec-152 names). Each takes the connected ApiPromise first;
 * connection.ts binds them to the live connection. Absent values are null, never a default
 * struct, and ValueQuery zero ids ("no such id") are null too.
 */

/** An account as SS58 address, 0x hex account id or raw 32 bytes. */
export type AccountRef = string | Uint8Array;

async function read(what: string, q: () => Promise<Codec>): Promise<unknown> {
  try {
    return (await q()).toJSON();
  } catch (err) {
    throw mapRpcError(err, what);
  }
}

const optionalId = uint.nullable();
/** ValueQuery ids use 0 for "none". */
const idOrZero = uint.transform((n) => (n === 0 ? null : n));

export async function twin(api: ApiPromise, id: number): Promise<Twin | null> {
  return decode(twinSchema.nullable(), await read(`twins(${id})`, () => api.query.tfgridModule.twins(id)), `twin ${id}`);
}

export async function twinIdByAccount(api: ApiPromise, account: AccountRef): Promise<number | null> {
  const json = await read('twinIdByAccountID', () => api.query.tfgridModule.twinIdByAccountID(account));
  return decode(optionalId, json, 'twin id by account');
}

export async function node(api: ApiPromise, id: number): Promise<Node | null> {
  return decode(nodeSchema.nullable(), await read(`nodes(${id})`, () => api.query.tfgridModule.nodes(id)), `node ${id}`);
}

export async function nodeIdByTwin(api: ApiPromise, twinId: number): Promise<number | null> {
  const json = await read(`nodeIdByTwinID(${twinId})`, () => api.query.tfgridModule.nodeIdByTwinID(twinId));
  return decode(idOrZero, json, 'node id by twin');
}

export async function farm(api: ApiPromise, id: number): Promise<Farm | null> {
  return decode(farmSchema.nullable(), await read(`farms(${id})`, () => api.query.tfgridModule.farms(id)), `farm ${id}`);
}

export async function farmIdByName(api: ApiPromise, name: string): Promise<number | null> {
  const json = await read(`farmIdByName(${name})`, () => api.query.tfgridModule.farmIdByName(name));
  return decode(idOrZero, json, 'farm id by name');
}

export async function contract(api: ApiPromise, id: number): Promise<Contract | null> {
  const json = await read(`contracts(${id})`, () => api.query.smartContractModule.contracts(id));
  return decode(contractSchema.nullable(), json, `contract ${id}`);
}

/** The live contract id for (node, deployment hash), or null. `hash` is the 32-char md5 hex string. */
export async function contractIdByNodeAndHash(api: ApiPromise, nodeId: number, hash: string): Promise<number | null> {
  const key = deploymentHashBytes(hash);
  const json = await read(`contractIDByNodeIDAndHash(${nodeId})`, () => api.query.smartContractModule.contractIDByNodeIDAndHash(nodeId, key));
  return decode(idOrZero, json, 'contract id by node and hash');
}

/** The live name contract holding `name` (ContractIDByNameRegistration), or null. */
export async function contractIdByName(api: ApiPromise, name: string): Promise<number | null> {
  const json = await read(`contractIDByNameRegistration(${name})`, () => api.query.smartContractModule.contractIDByNameRegistration(name));
  return decode(idOrZero, json, 'contract id by name');
}

export async function activeNodeContracts(api: ApiPromise, nodeId: number): Promise<number[]> {
  const json = await read(`activeNodeContracts(${nodeId})`, () => api.query.smartContractModule.activeNodeContracts(nodeId));
  return decode(z.array(uint), json, 'active node contracts');
}

export async function activeRentContractForNode(api: ApiPromise, nodeId: number): Promise<number | null> {
  const json = await read(`activeRentContractForNode(${nodeId})`, () =>
    api.query.smartContractModule.activeRentContractForNode(nodeId),
  );
  return decode(optionalId, json, 'active rent contract');
}

export async function nodePower(api: ApiPromise, nodeId: number): Promise<NodePower> {
  return decode(nodePowerSchema, await read(`nodePower(${nodeId})`, () => api.query.tfgridModule.nodePower(nodeId)), 'node power');
}

export async function balance(api: ApiPromise, account: AccountRef): Promise<Balance> {
  return decode(balanceSchema, await read('system.account', () => api.query.system.account(account)), 'account balance');
}

export async function pricingPolicy(api: ApiPromise, id = 1): Promise<PricingPolicy | null> {
  const json = await read(`pricingPolicies(${id})`, () => api.query.tfgridModule.pricingPolicies(id));
  return decode(pricingPolicySchema.nullable(), json, `pricing policy ${id}`);
}

/** TfgridModule.ZosVersion: the release the council set for every node, as text ('' when never set). */
export async function zosVersion(api: ApiPromise): Promise<string> {
  const hex = decode(z.string().regex(/^0x([0-9a-f]{2})*$/), await read('zosVersion', () => api.query.tfgridModule.zosVersion()), 'zos version');
  return Buffer.from(hex.slice(2), 'hex').toString('utf8');
}

/** Number of the latest finalized block. */
export async function finalizedBlockNumber(api: ApiPromise): Promise<number> {
  try {
    const hash = await api.rpc.chain.getFinalizedHead();
    const header = await api.rpc.chain.getHeader(hash);
    return header.number.toNumber();
  } catch (err) {
    throw mapRpcError(err, 'chain.getFinalizedHead');
  }
}

/** Every query above, as one table for binding to a connection. */
export const queries = {
  twin,
  twinIdByAccount,
  node,
  nodeIdByTwin,
  farm,
  farmIdByName,
  contract,
  contractIdByNodeAndHash,
  contractIdByName,
  activeNodeContracts,
  activeRentContractForNode,
  nodePower,
  balance,
  pricingPolicy,
  zosVersion,
  finalizedBlockNumber,
} as const;
