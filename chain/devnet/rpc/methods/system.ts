import { u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import { z } from 'zod';
import { invalidParams } from '../protocol.ts';
import type { MethodDef, MethodTable } from './types.ts';

export const SYSTEM_PROPERTIES = { ss58Format: 42, tokenDecimals: 7, tokenSymbol: 'TFT' } as const;

/** 0x-hex AccountId32 of an SS58 address or a 0x-hex public key. */
export function accountId(address: string): string {
  try {
    const bytes = decodeAddress(address);
    if (bytes.length !== 32) throw new Error('not 32 bytes');
    return u8aToHex(bytes);
  } catch {
    throw invalidParams(`invalid account address ${JSON.stringify(address).slice(0, 80)}`);
  }
}

const none = z.tuple([]);
const constant = (value: unknown): MethodDef => ({ params: none, run: () => value });

const nextIndex: MethodDef = {
  params: z.tuple([z.string().max(128)]),
  run: ([address], b) => b.executive.nextIndex(accountId(address)),
};

export const systemMethods: MethodTable = {
  system_chain: constant('Development'),
  system_chainType: constant('Development'),
  system_properties: constant(SYSTEM_PROPERTIES),
  system_name: { params: none, run: (_p, b) => b.nodeName },
  system_version: { params: none, run: (_p, b) => b.nodeVersion },
  system_health: constant({ peers: 0, isSyncing: false, shouldHavePeers: false }),
  system_localPeerId: constant('12D3KooWDevnetDevnetDevnetDevnetDevnetDevnetDevnet11'),
  system_localListenAddresses: constant([]),
  system_nodeRoles: constant(['Authority']),
  system_peers: constant([]),
  system_syncState: {
    params: none,
    run: (_p, b) => {
      const n = b.executive.chain.best.number;
      return { startingBlock: 0, currentBlock: n, highestBlock: n };
    },
  },
  system_accountNextIndex: nextIndex,
  account_nextIndex: nextIndex,
};
