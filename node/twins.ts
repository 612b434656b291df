import type { ChainClient } from '../chain/client/index.ts';
import { ChainTwinDirectory } from '../relay-client/chain-twins.ts';
import { CachedTwinDirectory } from '../rmb/twins.ts';

/**
 * Twin lookups for the relay peer over the failover chain client, cached for an hour; the
 * node's event follower invalidates a twin on `TwinUpdated` so a changed key works at once.
 */
export function chainTwins(client: ChainClient): CachedTwinDirectory {
  return new CachedTwinDirectory(new ChainTwinDirectory(client), { ttlMs: 60 * 60_000 });
}
