import { z } from 'zod';
import { bytesArg, contractSchema, decode, deploymentHashBytes, parseInput, uint } from './codec.ts';
import { ChainError, ChainErrorCode } from './errors.ts';
import { Call } from './scale.ts';
import { send, type TxContext, type TxEvent, type TxResult } from './submit.ts';
import type { Contract } from './types.ts';

/**
 * Contract calls for clients: builders that return a call (to submit alone or
 * inside utility.batchAll), and one-shot helpers that submit and return the contract id.
 */

const id = z.number().int().positive();

export const nodeContractInput = z
  .object({
    nodeId: id,
    /** The 32-char md5 hex deployment hash. */
    hash: z.string(),
    /** Deployment metadata (grid clients put a JSON string here); at most 512 bytes. */
    data: z.string().refine((d) => new TextEncoder().encode(d).length <= 512, 'deployment data is limited to 512 bytes'),
    publicIps: z.number().int().nonnegative().default(0),
    solutionProviderId: id.nullable().default(null),
  })
  .strict();
export type NodeContractInput = z.input<typeof nodeContractInput>;

const nameInput = z.string().regex(/^[a-z0-9_-]{3,64}$/, 'name contract names are 3..64 of [a-z0-9_-]');

export const build = {
  createNodeContract(input: NodeContractInput): Call {
    const c = parseInput(nodeContractInput, input, 'node contract');
    return new Call('smartContractModule', 'createNodeContract', [c.nodeId, deploymentHashBytes(c.hash), bytesArg(c.data), c.publicIps, c.solutionProviderId]);
  },
  updateNodeContract(contractId: number, hash: string, data: string): Call {
    const c = parseInput(id, contractId, 'contract id');
    const d = parseInput(nodeContractInput.shape.data, data, 'deployment data');
    return new Call('smartContractModule', 'updateNodeContract', [c, deploymentHashBytes(hash), bytesArg(d)]);
  },
  cancelContract(contractId: number): Call {
    return new Call('smartContractModule', 'cancelContract', [parseInput(id, contractId, 'contract id')]);
  },
  createNameContract(name: string): Call {
    return new Call('smartContractModule', 'createNameContract', [bytesArg(parseInput(nameInput, name, 'name contract name'))]);
  },
  createRentContract(nodeId: number, solutionProviderId: number | null = null): Call {
    return new Call('smartContractModule', 'createRentContract', [parseInput(id, nodeId, 'node id'), solutionProviderId]);
  },
} as const;

/** Contracts announced by ContractCreated / ContractUpdated events, in order. */
export function contractsFromEvents(events: readonly TxEvent[], method: 'ContractCreated' | 'ContractUpdated' = 'ContractCreated'): Contract[] {
  return events
    .filter((e) => e.section === 'smartContractModule' && e.method === method)
    .map((e) => decode(contractSchema, e.data[0], `${method} event`));
}

/** Contract ids announced as canceled (Node/Name/RentContractCanceled), in order. */
export function canceledFromEvents(events: readonly TxEvent[]): number[] {
  return events
    .filter((e) => e.section === 'smartContractModule' && /^(Node|Name|Rent)ContractCanceled$/.test(e.method))
    .map((e) => decode(uint, e.data[0], `${e.method} event`));
}

async function createOne(ctx: TxContext, tx: Call): Promise<Contract> {
  const [created] = contractsFromEvents((await send(ctx, tx)).events);
  if (!created) throw new ChainError(ChainErrorCode.decode, `${tx.method}: no ContractCreated event in the block`);
  return created;
}

export function createNodeContract(ctx: TxContext, input: NodeContractInput): Promise<Contract> {
  return createOne(ctx, build.createNodeContract(input));
}

export function createNameContract(ctx: TxContext, name: string): Promise<Contract> {
  return createOne(ctx, build.createNameContract(name));
}

export function createRentContract(ctx: TxContext, nodeId: number, solutionProviderId: number | null = null): Promise<Contract> {
  return createOne(ctx, build.createRentContract(nodeId, solutionProviderId));
}

export async function updateNodeContract(ctx: TxContext, contractId: number, hash: string, data: string): Promise<Contract> {
  const [updated] = contractsFromEvents((await send(ctx, build.updateNodeContract(contractId, hash, data))).events, 'ContractUpdated');
  if (!updated) throw new ChainError(ChainErrorCode.decode, 'updateNodeContract: no ContractUpdated event in the block');
  return updated;
}

export function cancelContract(ctx: TxContext, contractId: number): Promise<TxResult> {
  return send(ctx, build.cancelContract(contractId));
}

/**
 * Submits several calls atomically (utility.batchAll): all succeed or none; a failure rejects
 * with the failing inner call's module error. `contractsFromEvents(result.events)` lists the
 * created contracts.
 */
export async function batchAll(ctx: TxContext, calls: Call[]): Promise<TxResult> {
  if (calls.length === 0) throw new ChainError(ChainErrorCode.badInput, 'batchAll needs at least one call');
  return send(ctx, new Call('utility', 'batchAll', [calls]));
}

export const contractCalls = {
  createNodeContract,
  updateNodeContract,
  cancelContract,
  createNameContract,
  createRentContract,
  batchAll,
} as const;
