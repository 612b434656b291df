import { hexToU8a } from '@polkadot/util';
import { z } from 'zod';
import type { TxStatus } from '../../executive/pool.ts';
import { hexString } from '../protocol.ts';
import type { MethodTable, SubscriptionTable } from './types.ts';

const extrinsic = z.tuple([hexString]);
const isFinal = (s: TxStatus) => typeof s === 'string' ? s === 'invalid' || s === 'dropped' : 'finalized' in s || 'usurped' in s;

export const authorMethods: MethodTable = {
  author_submitExtrinsic: { params: extrinsic, run: ([hex], b) => b.executive.submit(hexToU8a(hex)).hash },
  author_pendingExtrinsics: { params: z.tuple([]), run: (_p, b) => b.executive.pool.pending().map((tx) => tx.hex) },
  // The devnet signs nothing itself; accepting keys keeps tfchain's test harness (author_insertKey) working.
  author_insertKey: { params: z.tuple([z.string().max(64), z.string().max(1024), hexString]), run: () => null },
  author_hasKey: { params: z.tuple([hexString, z.string().max(64)]), run: () => false },
};

export const authorSubscriptions: SubscriptionTable = {
  author_submitAndWatchExtrinsic: {
    params: extrinsic,
    notification: 'author_extrinsicUpdate',
    unsubscribe: 'author_unwatchExtrinsic',
    subscribe: ([hex], b, sink, end) => {
      let done = false;
      const { hash } = b.executive.submit(hexToU8a(hex), (status) => {
        if (done) return;
        sink(status);
        if (isFinal(status)) {
          done = true;
          end();
        }
      });
      return () => {
        if (!done) b.executive.pool.unwatch(hash);
        done = true;
      };
    },
  },
};
