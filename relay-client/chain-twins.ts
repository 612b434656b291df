import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aEq, u8aToHex, u8aToString } from '@polkadot/util';
import type { Twin, TwinDirectory } from '../rmb/twins.ts';

/**
 * tfchain-backed twin lookups and the publisher that keeps our own twin's relay/pk on chain.
 * Storage `TfgridModule.Twins(u32) -> Option<Twin{id, accountId, relay: Option<Bytes>,
 * entities, pk: Option<Bytes>}>`; extrinsic `TfgridModule.updateTwin(relay, pk)`.
 */

export class ChainTwinError extends Error {
  constructor(
    readonly code: 'ERR_CHAIN_QUERY' | 'ERR_CHAIN_TX' | 'ERR_TWIN_MISSING',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface BytesLike {
  toU8a(bare?: boolean): Uint8Array;
}
interface OptionLike<T> {
  isSome: boolean;
  unwrap(): T;
}
interface ChainTwin {
  id: { toNumber(): number };
  accountId: BytesLike;
  relay: OptionLike<BytesLike>;
  pk: OptionLike<BytesLike>;
}

export class ChainTwinDirectory implements TwinDirectory {
  constructor(private readonly api: ApiPromise) {}

  async getTwin(id: number): Promise<Twin | null> {
    let res: OptionLike<ChainTwin>;
    try {
      res = (await this.api.query.tfgridModule!.twins!(id)) as unknown as OptionLike<ChainTwin>;
    } catch (err) {
      throw new ChainTwinError('ERR_CHAIN_QUERY', `twins(${id}): ${(err as Error).message}`, { cause: err });
    }
    if (!res.isSome) return null;
    return decodeChainTwin(res.unwrap());
  }
}

function decodeChainTwin(t: ChainTwin): Twin {
  return {
    id: t.id.toNumber(),
    accountId: t.accountId.toU8a(true),
    relay: t.relay.isSome ? u8aToString(t.relay.unwrap().toU8a(true)) : null,
    pk: t.pk.isSome ? t.pk.unwrap().toU8a(true) : null,
  };
}

/**
 * The twin `relay` value for relay URLs or hostnames: hostnames only (as rmb-peer's
 * url.domain(); tfchain accepts only [A-Za-z0-9_-.] so no port or scheme), sorted,
 * de-duplicated, joined by "_". Never a mangled "ws:/host".
 */
export function relayField(relays: string[]): string {
  const hosts = relays.map((r) => {
    const host = r.includes('://') ? new URL(r).hostname : r.replace(/\/+$/, '');
    if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(host)) {
      throw new ChainTwinError('ERR_CHAIN_TX', `invalid relay host: ${JSON.stringify(r)}`);
    }
    return host;
  });
  return [...new Set(hosts)].sort().join('_');
}

export class TwinPublisher {
  constructor(
    private readonly api: ApiPromise,
    private readonly pair: KeyringPair,
  ) {}

  /**
   * Submits updateTwin when the on-chain relay or pk differ from ours; resolves to whether a
   * transaction was needed once it is in a block.
   */
  async ensure(twinId: number, relays: string[], pk: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    const relay = relayField(relays);
    const current = await new ChainTwinDirectory(this.api).getTwin(twinId);
    if (!current) throw new ChainTwinError('ERR_TWIN_MISSING', `twin ${twinId} not found on chain`);
    if (current.relay === relay && current.pk && u8aEq(current.pk, pk)) return false;
    // Hex strings: a Uint8Array would be taken as an already SCALE-encoded Option.
    const tx = this.api.tx.tfgridModule!.updateTwin!(u8aToHex(stringToU8a(relay)), u8aToHex(pk));
    await new Promise<void>((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let finished = false;
      const onAbort = () => done(new ChainTwinError('ERR_CHAIN_TX', 'updateTwin aborted', { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err?: Error) => {
        if (finished) return;
        finished = true;
        signal?.removeEventListener('abort', onAbort);
        unsub?.();
        if (err) reject(err);
        else resolve();
      };
      tx.signAndSend(this.pair, { nonce: -1 }, (result) => {
        if (result.dispatchError) {
          const e = result.dispatchError;
          const text = e.isModule
            ? (() => {
                const m = this.api.registry.findMetaError(e.asModule);
                return `${m.section}.${m.name}`;
              })()
            : e.toString();
          done(new ChainTwinError('ERR_CHAIN_TX', `updateTwin failed: ${text}`));
        } else if (result.status.isInBlock || result.status.isFinalized) {
          done();
        } else if (result.status.isDropped || result.status.isInvalid || result.status.isUsurped) {
          done(new ChainTwinError('ERR_CHAIN_TX', `updateTwin ${result.status.type}`));
        }
      })
        .then((u) => {
          if (finished) u();
          else unsub = u;
        })
        .catch((err: unknown) =>
          done(new ChainTwinError('ERR_CHAIN_TX', `updateTwin: ${(err as Error).message}`, { cause: err })),
        );
    });
    return true;
  }
}
