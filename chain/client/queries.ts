import { z } from 'zod';
import type { Connection } from './connection.ts';
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
import type { Balance, Contract, Farm, HexString, Node, NodePower, PricingPolicy, Twin } from './types.ts';

/**
 * One-shot typed storage reads (spec-152 names). Each takes the live connection first;
 * connection.ts binds them to the live connection. Absent values are null, never a default
 * struct, and ValueQuery zero ids ("no such id") are null too.
 */

/** An account as SS58 address, 0x hex account id or raw 32 bytes. */
export type AccountRef = string | Uint8Array;

/**
 * `section.name(...keys)` as JSON (at block `at`, else the best block): the default of a
 * ValueQuery item when absent, null for an absent OptionQuery one.
 */
export async function readStorage(c: Pick<Connection, 'rpc' | 'runtime'>, section: string, name: string, keys: readonly unknown[] = [], at?: HexString): Promise<unknown> {
  const what = `${name}(${keys.map((k) => (typeof k === 'string' || typeof k === 'number' ? k : '…')).join(', ')})`;
  try {
    const key = c.runtime.storageKey(section, name, keys);
    const data = await c.rpc.request<HexString | null>('state_getStorage', at ? [key, at] : [key]);
    return c.runtime.decodeStorage(section, name, data);
  } catch (err) {
    throw mapRpcError(err, what);
  }
}

/** Every entry of map `section.name` at block `at`: its key arguments and value as JSON. */
export async function readEntries(c: Pick<Connection, 'rpc' | 'runtime'>, section: string, name: string, at: HexString): Promise<Array<{ key: unknown[]; value: unknown }>> {
  const PAGE = 500;
  const out: Array<{ key: unknown[]; value: unknown }> = [];
  const prefix = c.runtime.storageKey(section, name);
  try {
    for (let start: string | null = null; ; ) {
      const keys: HexString[] = await c.rpc.request<HexString[]>('state_getKeysPaged', [prefix, PAGE, start, at]);
      if (keys.length === 0) break;
      const [set] = await c.rpc.request<Array<{ changes: Array<[HexString, HexString | null]> }>>('state_queryStorageAt', [keys, at]);
      for (const [key, value] of set?.changes ?? []) {
        out.push({ key: c.runtime.decodeStorageKey(section, name, key), value: c.runtime.decodeStorage(section, name, value) });
      }
      if (keys.length < PAGE) break;
      start = keys.at(-1)!;
    }
  } catch (err) {
    throw mapRpcError(err, `entries of ${section}.${name}`);
  }
  return out;
}

const optionalId = uint.nullable();
/** ValueQuery ids use 0 for "none". */
const idOrZero = uint.transform((n) => (n === 0 ? null : n));

export async function twin(c: Connection, id: number): Promise<Twin | null> {
  return decode(twinSchema.nullable(), await readStorage(c, 'tfgridModule', 'twins', [id]), `twin ${id}`);
}

export async function twinIdByAccount(c: Connection, account: AccountRef): Promise<number | null> {
  const json = await readStorage(c, 'tfgridModule', 'twinIdByAccountID', [account]);
  return decode(optionalId, json, 'twin id by account');
}

export async function node(c: Connection, id: number): Promise<Node | null> {
  return decode(nodeSchema.nullable(), await readStorage(c, 'tfgridModule', 'nodes', [id]), `node ${id}`);
}

export async function nodeIdByTwin(c: Connection, twinId: number): Promise<number | null> {
  const json = await readStorage(c, 'tfgridModule', 'nodeIdByTwinID', [twinId]);
  return decode(idOrZero, json, 'node id by twin');
}

export async function farm(c: Connection, id: number): Promise<Farm | null> {
  return decode(farmSchema.nullable(), await readStorage(c, 'tfgridModule', 'farms', [id]), `farm ${id}`);
}

export async function farmIdByName(c: Connection, name: string): Promise<number | null> {
  const json = await readStorage(c, 'tfgridModule', 'farmIdByName', [name]);
  return decode(idOrZero, json, 'farm id by name');
}

export async function contract(c: Connection, id: number): Promise<Contract | null> {
  const json = await readStorage(c, 'smartContractModule', 'contracts', [id]);
  return decode(contractSchema.nullable(), json, `contract ${id}`);
}

/** The live contract id for (node, deployment hash), or null. `hash` is the 32-char md5 hex string. */
export async function contractIdByNodeAndHash(c: Connection, nodeId: number, hash: string): Promise<number | null> {
  const key = deploymentHashBytes(hash);
  const json = await readStorage(c, 'smartContractModule', 'contractIDByNodeIDAndHash', [nodeId, key]);
  return decode(idOrZero, json, 'contract id by node and hash');
}

/** The live name contract holding `name` (ContractIDByNameRegistration), or null. */
export async function contractIdByName(c: Connection, name: string): Promise<number | null> {
  const json = await readStorage(c, 'smartContractModule', 'contractIDByNameRegistration', [name]);
  return decode(idOrZero, json, 'contract id by name');
}

export async function activeNodeContracts(c: Connection, nodeId: number): Promise<number[]> {
  const json = await readStorage(c, 'smartContractModule', 'activeNodeContracts', [nodeId]);
  return decode(z.array(uint), json, 'active node contracts');
}

export async function activeRentContractForNode(c: Connection, nodeId: number): Promise<number | null> {
  const json = await readStorage(c, 'smartContractModule', 'activeRentContractForNode', [nodeId]);
  return decode(optionalId, json, 'active rent contract');
}

export async function nodePower(c: Connection, nodeId: number): Promise<NodePower> {
  return decode(nodePowerSchema, await readStorage(c, 'tfgridModule', 'nodePower', [nodeId]), 'node power');
}

export async function balance(c: Connection, account: AccountRef): Promise<Balance> {
  return decode(balanceSchema, await readStorage(c, 'system', 'account', [account]), 'account balance');
}

export async function pricingPolicy(c: Connection, id = 1): Promise<PricingPolicy | null> {
  const json = await readStorage(c, 'tfgridModule', 'pricingPolicies', [id]);
  return decode(pricingPolicySchema.nullable(), json, `pricing policy ${id}`);
}

/** TfgridModule.ZosVersion: the release the council set for every node, as text ('' when never set). */
export async function zosVersion(c: Connection): Promise<string> {
  const hex = decode(z.string().regex(/^0x([0-9a-f]{2})*$/), await readStorage(c, 'tfgridModule', 'zosVersion', []), 'zos version');
  return Buffer.from(hex.slice(2), 'hex').toString('utf8');
}

/** Number of the latest finalized block. */
export async function finalizedBlockNumber(c: Connection): Promise<number> {
  try {
    const hash = await c.rpc.request<HexString>('chain_getFinalizedHead');
    const header = await c.rpc.request<{ number: HexString }>('chain_getHeader', [hash]);
    return Number(header.number);
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
