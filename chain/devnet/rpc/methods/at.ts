import type { BlockRecord } from '../../executive/chain-store.ts';
import { unknownBlock } from '../protocol.ts';
import type { RpcBackend } from './types.ts';

/** A block and a reader of the state after it. */
export interface StateAt {
  block: BlockRecord;
  read(key: string): Uint8Array | undefined;
  keys(prefix: string): string[];
}

/** The block `hash` (best when absent); error 4003 when unknown. For answers that need no state. */
export function blockAt(backend: RpcBackend, hash?: string | null): BlockRecord {
  const chain = backend.executive.chain;
  const block = hash ? chain.get(hash) : chain.best;
  if (!block) throw unknownBlock(hash!);
  return block;
}

/** State at `hash` (best when absent); error 4003 when the block or its state is unknown. */
export function stateAt(backend: RpcBackend, hash?: string | null): StateAt {
  const chain = backend.executive.chain;
  const block = blockAt(backend, hash);
  if (block === chain.best) {
    const state = backend.runtime.state;
    return { block, read: (k) => state.get(k.toLowerCase()), keys: (p) => state.keys(p.toLowerCase()) };
  }
  const snapshot = chain.stateAt(block.hash);
  if (!snapshot) throw unknownBlock(block.hash);
  return {
    block,
    read: (k) => snapshot.get(k.toLowerCase()),
    keys: (p) => [...snapshot.keys()].filter((k) => k.startsWith(p.toLowerCase())).sort(),
  };
}
