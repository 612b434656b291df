import { z } from 'zod';
import type { BlockRecord } from '../../executive/chain-store.ts';
import { hash32, invalidParams } from '../protocol.ts';
import type { MethodTable, RpcBackend, SubscriptionDef, SubscriptionTable } from './types.ts';

const blockNumber = z.union([z.number().int().nonnegative(), z.string().regex(/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/)]);

function hashOf(b: RpcBackend, n: z.infer<typeof blockNumber> | null | undefined): string | null {
  if (n === null || n === undefined) return b.executive.chain.best.hash;
  const num = typeof n === 'number' ? n : Number(n.startsWith('0x') ? parseInt(n, 16) : Number(n));
  if (!Number.isSafeInteger(num)) throw invalidParams('bad block number');
  return b.executive.chain.hashOf(num) ?? null;
}

const blockOrBest = (b: RpcBackend, hash?: string | null): BlockRecord | undefined =>
  hash ? b.executive.chain.get(hash) : b.executive.chain.best;

const optHash = z.tuple([hash32.nullish()]).or(z.tuple([]));

export const chainMethods: MethodTable = {
  chain_getBlockHash: {
    params: z.tuple([z.union([blockNumber, z.array(blockNumber).max(1024)]).nullish()]).or(z.tuple([])),
    run: ([n], b) => (Array.isArray(n) ? n.map((x) => hashOf(b, x)) : hashOf(b, n)),
  },
  chain_getHeader: { params: optHash, run: ([h], b) => blockOrBest(b, h)?.header ?? null },
  chain_getBlock: {
    params: optHash,
    run: ([h], b) => {
      const block = blockOrBest(b, h);
      return block ? { block: { header: block.header, extrinsics: block.extrinsics }, justifications: null } : null;
    },
  },
  chain_getFinalizedHead: { params: z.tuple([]), run: (_p, b) => b.executive.chain.best.hash },
  chain_getFinalisedHead: { params: z.tuple([]), run: (_p, b) => b.executive.chain.best.hash },
};

/** Every sealed block is best and final at once, so all head streams carry the same headers. */
function heads(notification: string, unsubscribe: string): SubscriptionDef {
  return {
    params: z.tuple([]),
    notification,
    unsubscribe,
    subscribe: (_p, b, sink) => {
      sink(b.executive.chain.best.header);
      return b.executive.onBlock(({ block }) => sink(block.header));
    },
  };
}

export const chainSubscriptions: SubscriptionTable = {
  chain_subscribeNewHeads: heads('chain_newHead', 'chain_unsubscribeNewHeads'),
  chain_subscribeNewHead: heads('chain_newHead', 'chain_unsubscribeNewHead'),
  chain_subscribeFinalizedHeads: heads('chain_finalizedHead', 'chain_unsubscribeFinalizedHeads'),
  chain_subscribeFinalisedHeads: heads('chain_finalizedHead', 'chain_unsubscribeFinalisedHeads'),
  chain_subscribeAllHeads: heads('chain_allHead', 'chain_unsubscribeAllHeads'),
};
