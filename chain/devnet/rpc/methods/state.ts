import { u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { z } from 'zod';
import { hexString, optAt } from '../protocol.ts';
import { RUNTIME_VERSION, stateCall } from '../runtime-api.ts';
import { blockAt, stateAt } from './at.ts';
import type { MethodTable, SubscriptionDef, SubscriptionTable } from './types.ts';

const MAX_KEYS = 1000;
const storageKey = hexString.max(2 + 2 * 4096);
const hex = (v: Uint8Array | undefined) => (v ? u8aToHex(v) : null);
const atOnly = z.tuple([optAt]).or(z.tuple([]));

export const stateMethods: MethodTable = {
  // One runtime for every block: version and metadata need the block, not its (maybe pruned) state.
  state_getRuntimeVersion: { params: atOnly, run: ([at], b) => (blockAt(b, at), RUNTIME_VERSION) },
  chain_getRuntimeVersion: { params: atOnly, run: ([at], b) => (blockAt(b, at), RUNTIME_VERSION) },
  state_getMetadata: { params: atOnly, run: ([at], b) => (blockAt(b, at), u8aToHex(b.runtime.metadataBytes)) },
  state_call: {
    params: z.tuple([z.string().max(256), hexString, optAt]).or(z.tuple([z.string().max(256), hexString])),
    run: ([method, data, at], b) => stateCall(b.runtime, method, data, stateAt(b, at).read),
  },
  state_getStorage: { params: z.tuple([storageKey, optAt]).or(z.tuple([storageKey])), run: ([key, at], b) => hex(stateAt(b, at).read(key)) },
  state_getStorageAt: { params: z.tuple([storageKey, optAt]).or(z.tuple([storageKey])), run: ([key, at], b) => hex(stateAt(b, at).read(key)) },
  state_getStorageHash: {
    params: z.tuple([storageKey, optAt]).or(z.tuple([storageKey])),
    run: ([key, at], b) => {
      const v = stateAt(b, at).read(key);
      return v ? blake2AsHex(v, 256) : null;
    },
  },
  state_getStorageSize: {
    params: z.tuple([storageKey, optAt]).or(z.tuple([storageKey])),
    run: ([key, at], b) => stateAt(b, at).read(key)?.length ?? null,
  },
  state_queryStorageAt: {
    params: z.tuple([z.array(storageKey).max(MAX_KEYS), optAt]).or(z.tuple([z.array(storageKey).max(MAX_KEYS)])),
    run: ([keys, at], b) => {
      const s = stateAt(b, at);
      return [{ block: s.block.hash, changes: (keys as string[]).map((k) => [k, hex(s.read(k))]) }];
    },
  },
  state_getKeys: {
    params: z.tuple([storageKey, optAt]).or(z.tuple([storageKey])),
    run: ([prefix, at], b) => stateAt(b, at).keys(prefix),
  },
  state_getKeysPaged: {
    params: z
      .tuple([storageKey.nullable(), z.number().int().min(0).max(MAX_KEYS), storageKey.nullish(), optAt])
      .or(z.tuple([storageKey.nullable(), z.number().int().min(0).max(MAX_KEYS), storageKey.nullish()]))
      .or(z.tuple([storageKey.nullable(), z.number().int().min(0).max(MAX_KEYS)])),
    run: ([prefix, count, startKey, at], b) => {
      const start = (startKey as string | null | undefined)?.toLowerCase();
      const keys = stateAt(b, at).keys(prefix ?? '0x');
      return (start ? keys.filter((k) => k > start) : keys).slice(0, count);
    },
  },
  state_getPairs: {
    params: z.tuple([storageKey, optAt]).or(z.tuple([storageKey])),
    run: ([prefix, at], b) => {
      const s = stateAt(b, at);
      return s.keys(prefix).slice(0, MAX_KEYS).map((k) => [k, hex(s.read(k))]);
    },
  },
};

/** The runtime never upgrades, so the stream is its one current version. */
function runtimeVersionSub(notification: string, unsubscribe: string): SubscriptionDef {
  return {
    params: z.tuple([]),
    notification,
    unsubscribe,
    subscribe: (_p, _b, sink) => {
      sink(RUNTIME_VERSION);
      return () => {};
    },
  };
}

export const stateSubscriptions: SubscriptionTable = {
  state_subscribeStorage: {
    params: z.tuple([z.array(storageKey).max(MAX_KEYS).nullish()]).or(z.tuple([])),
    notification: 'state_storage',
    unsubscribe: 'state_unsubscribeStorage',
    subscribe: ([keys], b, sink) => {
      const watched = keys ? new Set((keys as string[]).map((k) => k.toLowerCase())) : null;
      if (watched) {
        const s = stateAt(b);
        sink({ block: s.block.hash, changes: [...watched].map((k) => [k, hex(s.read(k))]) });
      }
      return b.executive.onBlock(({ block, changes }) => {
        const hit = changes.filter(([k]) => !watched || watched.has(k)).map(([k, v]) => [k, v ? u8aToHex(v) : null]);
        if (hit.length) sink({ block: block.hash, changes: hit });
      });
    },
  },
  state_subscribeRuntimeVersion: runtimeVersionSub('state_runtimeVersion', 'state_unsubscribeRuntimeVersion'),
  chain_subscribeRuntimeVersion: runtimeVersionSub('chain_runtimeVersion', 'chain_unsubscribeRuntimeVersion'),
};
