import { closeSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from './fsutil.ts';

/**
 * The node's decoded chunks (SPEC.md §7), a cache beside the store, which keeps every chunk sealed
 * (zstd) as built and served:
 *   <dir>/packs/<digest>-<n>   every chunk of an image, decoded (what openChunk gives), end to end
 *   <dir>/images/<digest>      JSON {pack, at}: the pack's name and each chunk id's offset in it
 * A node's pull writes the pack while chunks arrive, and its index once the pack is whole;
 * materialize reads chunks from the pack instead of decoding them (zstd is ~0.85 ms of CPU per MiB,
 * most of a file worker's pass), then drops it: the objects hold those bytes from then on, so the
 * disk holds the image twice only between a pull and its materialize. One file per image, not one
 * per chunk: a pull creates one inode instead of thousands, a worker opens it once. Nothing here
 * is trusted: materialize proves every file it writes by its BLAKE3, writes one that fails again
 * from the store's sealed chunks (image/file-worker.ts) and stops using the pack. No fsync: a pack
 * a power cut left short is caught the same way.
 */
export interface DecodedIndex {
  /** The pack's file name under packs/. */
  pack: string;
  /** Offset of each chunk's decoded bytes in the pack (its length is the extent's size). */
  at: Record<string, number>;
}

const indexPath = (dir: string, digest: string) => join(dir, 'images', digest);
const packPath = (dir: string, name: string) => join(dir, 'packs', name);

/** An image's decoded chunks as materialize reads them. */
export interface DecodedChunks {
  pack: string;
  index: string;
  /** As DecodedIndex.at. */
  at: Record<string, number>;
}

/** Where an image's decoded chunks are, or undefined when a pull left none. */
export function decodedOf(dir: string, digest: string): DecodedChunks | undefined {
  try {
    const ix = JSON.parse(readFileSync(indexPath(dir, digest), 'utf8')) as DecodedIndex;
    if (typeof ix.pack !== 'string' || ix.pack.includes('/') || typeof ix.at !== 'object' || ix.at === null) return undefined;
    return { pack: packPath(dir, ix.pack), index: indexPath(dir, digest), at: ix.at };
  } catch {
    return undefined; // none (or unreadable: the cache never fails its caller)
  }
}

/**
 * Forgets an image's decoded chunks: its index at once, so no later materialize reads the pack;
 * the pack itself in the background (`pack`: its path, when the caller has read the index). An
 * unlink of a large file on a filesystem mounted with `discard` waits for the device (~50 ms for a
 * 130 MiB pack here, almost no CPU), which the materialize that made the tree need not wait for.
 * Resolves once the pack is gone; never rejects (a pack left behind is collected by the cache's
 * gc, image/cache-gc.ts).
 */
export function dropDecoded(dir: string, digest: string, pack = decodedOf(dir, digest)?.pack): Promise<void> {
  try {
    rmSync(indexPath(dir, digest), { force: true });
  } catch {
    return Promise.resolve(); // a cache that cannot be changed is left as it is
  }
  return pack === undefined ? Promise.resolve() : rm(pack, { force: true }).catch(() => {});
}

/**
 * The cache's gc of decoded chunks (image/cache-gc.ts): an index whose `isOld(mtime)` goes with
 * its pack, as do packs no index names (a pull that died, a drop a crash cut short) once old. By
 * age, since a pack is needed only by the materialize that follows its pull (a zmachine's
 * provisioning does both in one job); one that waited past the grace period belongs to an image
 * never materialized, and should it be materialized after all it is decoded from the store's
 * sealed chunks. A pull still writing its pack changed it recently. Returns the packs removed.
 */
export function collectDecoded(dir: string, isOld: (mtimeMs: number) => boolean): number {
  const mtime = (p: string) => statSync(p, { throwIfNoEntry: false })?.mtimeMs;
  const named = new Set<string>();
  let removed = 0;
  for (const digest of names(join(dir, 'images'))) {
    const ix = decodedOf(dir, digest);
    const at = mtime(indexPath(dir, digest));
    if (at !== undefined && isOld(at)) {
      rmSync(indexPath(dir, digest), { force: true });
      if (ix && mtime(ix.pack) !== undefined) {
        rmSync(ix.pack, { force: true });
        removed++;
      }
    } else if (ix) named.add(ix.pack);
  }
  for (const name of names(join(dir, 'packs'))) {
    const pack = packPath(dir, name);
    const at = mtime(pack);
    if (named.has(pack) || at === undefined || !isOld(at)) continue;
    rmSync(pack, { force: true });
    removed++;
  }
  return removed;
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // none yet
  }
}

let packs = 0;

/** A pack being written by a pull; `finish` names it and writes its index, `abort` removes it. */
export class DecodedPackWriter {
  private readonly name: string;
  private readonly tmp: string;
  private readonly fd: number;
  private pos = 0;
  private readonly at: Record<string, number> = {};

  constructor(
    private readonly dir: string,
    private readonly digest: string,
  ) {
    this.name = `${digest}-${process.pid}-${++packs}`;
    this.tmp = packPath(dir, `.tmp-${this.name}`);
    mkdirSync(join(dir, 'packs'), { recursive: true });
    this.fd = openSync(this.tmp, 'w', 0o600);
  }

  /** Appends a chunk's decoded bytes (once per id). */
  append(id: string, plain: Uint8Array): void {
    if (this.at[id] !== undefined) return;
    for (let done = 0; done < plain.length; ) done += writeSync(this.fd, plain, done, plain.length - done, this.pos + done);
    this.at[id] = this.pos;
    this.pos += plain.length;
  }

  finish(): void {
    closeSync(this.fd);
    // Another pull of the same image finished first: its pack stays, this one goes.
    if (statSync(indexPath(this.dir, this.digest), { throwIfNoEntry: false })) return void rmSync(this.tmp, { force: true });
    renameSync(this.tmp, packPath(this.dir, this.name));
    atomicWriteFile(indexPath(this.dir, this.digest), JSON.stringify({ pack: this.name, at: this.at } satisfies DecodedIndex));
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    rmSync(this.tmp, { force: true });
  }
}
