import type { ChainClient } from '../chain/client/index.ts';
import { CachedTwinDirectory, type Twin, type TwinDirectory } from '../rmb/twins.ts';

/**
 * Twin lookups for the relay peer over the failover chain client, cached for an hour; the
 * node's event follower invalidates a twin on `TwinUpdated` so a changed key works at once.
 */
export function chainTwins(client: ChainClient): CachedTwinDirectory {
  const backend: TwinDirectory = {
    async getTwin(id: number): Promise<Twin | null> {
      const t = await client.query.twin(id);
      return t && { id: t.id, accountId: t.accountId, relay: t.relay, pk: t.pk };
    },
  };
  return new CachedTwinDirectory(backend, { ttlMs: 60 * 60_000 });
}
