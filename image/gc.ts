import { decodeManifest, manifestChunks } from './manifest.ts';
import type { DirStore } from './store/dir-store.ts';

export interface GcResult {
  keptManifests: number;
  removedManifests: number;
  keptChunks: number;
  removedChunks: number;
  removedBytes: number;
  skippedYoung: number;
  /** Unreferenced chunks in packs kept for the chunks they hold that are (a pack goes whole). */
  keptInPacks: number;
}

/**
 * Remove chunks not referenced by any tagged manifest, and untagged manifests. Objects younger
 * than `graceMs` are kept, because a build or pull in progress writes chunks before its tag.
 * A pack goes whole, once none of its chunks is referenced; one that holds any is kept whole.
 */
export async function gcStore(store: DirStore, opts: { graceMs?: number; now?: number } = {}): Promise<GcResult> {
  const grace = opts.graceMs ?? 60 * 60 * 1000;
  const now = opts.now ?? Date.now();
  const tagged = new Set((await store.listTags()).values());
  const live = new Set<string>();
  for (const digest of tagged) for (const id of manifestChunks(decodeManifest(await store.getManifest(digest))).keys()) live.add(id);
  const r: GcResult = { keptManifests: 0, removedManifests: 0, keptChunks: 0, removedChunks: 0, removedBytes: 0, skippedYoung: 0, keptInPacks: 0 };
  for await (const digest of store.listManifests()) {
    if (tagged.has(digest)) r.keptManifests++;
    else if ((await store.removeObject('manifests', digest, grace, now)) > 0) r.removedManifests++;
    else r.skippedYoung++;
  }
  for (const [pack, ids] of store.listPacks()) {
    const held = ids.filter((id) => live.has(id)).length;
    if (held > 0) {
      r.keptChunks += held;
      r.keptInPacks += ids.length - held;
      continue;
    }
    const freed = await store.removePack(pack, grace, now);
    if (freed > 0) {
      r.removedChunks += ids.length;
      r.removedBytes += freed;
    } else r.skippedYoung += ids.length;
  }
  for await (const id of store.listChunkFiles()) {
    if (live.has(id)) {
      r.keptChunks++;
      continue;
    }
    const freed = await store.removeObject('chunks', id, grace, now);
    if (freed > 0) {
      r.removedChunks++;
      r.removedBytes += freed;
    } else r.skippedYoung++;
  }
  await store.sweepTmp(grace, now);
  return r;
}
