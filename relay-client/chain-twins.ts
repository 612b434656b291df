import type { ChainClient } from '../chain/client/index.ts';
import type { Twin, TwinDirectory } from '../rmb/twins.ts';

/**
 * tfchain-backed twin lookups (`TfgridModule.Twins(u32)`) over the failover chain client, for
 * the relay and the node's peer, and the twin `relay` field rmb-peer publishes.
 */

export class ChainTwinError extends Error {
  constructor(
    readonly code: 'ERR_CHAIN_QUERY' | 'ERR_BAD_RELAY',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ChainTwinDirectory implements TwinDirectory {
  constructor(private readonly client: ChainClient) {}

  async getTwin(id: number): Promise<Twin | null> {
    let t;
    try {
      t = await this.client.query.twin(id);
    } catch (err) {
      throw new ChainTwinError('ERR_CHAIN_QUERY', `twins(${id}): ${(err as Error).message}`, { cause: err });
    }
    return t && { id: t.id, accountId: t.accountId, relay: t.relay, pk: t.pk };
  }
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
      throw new ChainTwinError('ERR_BAD_RELAY', `invalid relay host: ${JSON.stringify(r)}`);
    }
    return host;
  });
  return [...new Set(hosts)].sort().join('_');
}
