import { stat } from 'node:fs/promises';
import { blake3Hex } from './hash.ts';
import { decodeManifest, manifestChunks } from './manifest.ts';
import type { DirStore } from './store/dir-store.ts';
import { PackWriter, packFilePath, readPackedSync, type PackEntry } from './store/packs.ts';

export interface GcResult {
  keptManifests: number;
  removedManifests: number;
  keptChunks: number;
  removedChunks: number;
  removedBytes: number;
  skippedYoung: number;
  /** Unreferenced chunks in packs kept for the chunks they hold that are (under half their bytes). */
  keptInPacks: number;
  /** Packs rewritten with their referenced chunks only. */
  repackedPacks: number;
}

/**
 * Remove chunks not referenced by any tagged manifest, and untagged manifests. Objects younger
 * than `graceMs` are kept, because a build or pull in progress writes chunks before its tag.
 * A pack goes whole once none of its chunks is referenced, and is rewritten with the referenced
 * ones once they are under half its bytes (a chunk two packs hold counts in the one readers take).
 */
export async function gcStore(store: DirStore, opts: { graceMs?: number; now?: number } = {}): Promise<GcResult> {
  const grace = opts.graceMs ?? 60 * 60 * 1000;
  const now = opts.now ?? Date.now();
  const tagged = new Map<string, string[]>();
  for (const digest of new Set((await store.listTags()).values())) tagged.set(digest, [...manifestChunks(decodeManifest(await store.getManifest(digest))).keys()]);
  const live = new Set([...tagged.values()].flat());
  const r: GcResult = { keptManifests: 0, removedManifests: 0, keptChunks: 0, removedChunks: 0, removedBytes: 0, skippedYoung: 0, keptInPacks: 0, repackedPacks: 0 };
  for await (const digest of store.listManifests()) {
    if (tagged.has(digest)) r.keptManifests++;
    else if ((await store.removeObject('manifests', digest, grace, now)) > 0) r.removedManifests++;
    else r.skippedYoung++;
  }
  const bytes = (list: PackEntry[]) => list.reduce((n, e) => n + e.length, 0);
  for (const [pack, entries] of await store.listPacks()) {
    const held = entries.filter((e) => live.has(e.id) && store.packOf(e.id) === pack);
    const dead = entries.length - held.length;
    r.keptChunks += held.length;
    if (held.length === 0) {
      const freed = await store.removePack(pack, grace, now);
      if (freed > 0) {
        r.removedChunks += dead;
        r.removedBytes += freed;
      } else r.skippedYoung += dead;
      continue;
    }
    const freed = 2 * bytes(held) <= bytes(entries) ? await repack(store, pack, held, grace, now) : 0;
    if (freed > 0) {
      r.removedChunks += dead;
      r.removedBytes += freed;
      r.repackedPacks++;
    } else r.keptInPacks += dead;
  }
  // Remotes find chunks through the pack lists: those that named a rewritten pack name its copy now.
  if (r.repackedPacks > 0) for (const [digest, ids] of tagged) await store.putPackList(digest, ids);
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

/**
 * Rewrites `pack` with the chunks `keep` only, if older than `graceMs`: they are copied into a new
 * pack (each checked against its id), which is named and synced before the old one goes. Returns
 * the bytes freed; 0 (the pack kept as it is) when young, or when a chunk to keep is not intact
 * there (verify names it; a copy would hide where it went bad).
 */
async function repack(store: DirStore, pack: string, keep: PackEntry[], graceMs: number, now: number): Promise<number> {
  const st = await stat(packFilePath(store.location, pack, 'idx')).catch(() => undefined);
  if (!st || now - st.mtimeMs < graceMs) return 0;
  const writer = new PackWriter(store.location);
  try {
    for (const e of [...keep].sort((a, b) => a.offset - b.offset)) {
      const blob = readPackedSync(store.location, { pack, offset: e.offset, length: e.length });
      if (blake3Hex(blob) !== e.id) {
        writer.discard();
        return 0;
      }
      writer.append(e.id, blob);
    }
  } catch (err) {
    writer.discard();
    throw err;
  }
  writer.close();
  const written = await store.addPack(writer.path!, writer.entries);
  await store.sync(); // the copies are on disk before the originals go
  return (await store.removePack(pack, 0, now)) - written;
}
