/**
 * Stores of chunks, manifests and tags (SPEC.md §5). Every getter verifies what it returns
 * against its digest, so callers never see unverified bytes.
 */
export interface ChunkStore {
  /** Where it lives (path or URL), for messages. */
  readonly location: string;
  readonly writable: boolean;
  hasChunk(id: string): Promise<boolean>;
  /** The blob whose BLAKE3 is `id`; NOT_FOUND or CHUNK_CORRUPT otherwise. */
  getChunk(id: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ImageStore extends ChunkStore {
  getManifest(digest: string): Promise<Uint8Array>;
  hasManifest(digest: string): Promise<boolean>;
  /** Stores canonical manifest bytes; returns their digest. */
  putManifest(bytes: Uint8Array): Promise<string>;
  getTag(name: string): Promise<string | undefined>;
  setTag(name: string, digest: string): Promise<void>;
}

/** Stores that can enumerate themselves (local and directory stores). */
export interface ListableStore extends ImageStore {
  listTags(): Promise<Map<string, string>>;
  /** Chunks that are files of their own (a DirStore's packed chunks are not listed here). */
  listChunkFiles(): AsyncIterable<string>;
  listManifests(): AsyncIterable<string>;
}

/** Largest blob a v1 chunk can be: max chunk + header + GCM tag + zstd worst-case expansion. */
export function maxBlobSize(maxChunk: number): number {
  return maxChunk + 3 + 16 + (maxChunk >> 7) + 1024;
}
