import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { newHasher } from '../image/hash.ts';
import type { FileEntry, Manifest } from '../image/manifest.ts';
import { initChunkCodec, openChunk } from '../image/chunk-codec.ts';
import type { ChunkStore } from '../image/store/types.ts';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, cpioHeader, cpioMember, cpioTrailer, pad4 } from './cpio.ts';
import { ROOT_MANIFEST_PATH } from './layout.ts';

/** The bytes of a file entry, in order. */
export type FileContent = (e: FileEntry) => AsyncIterable<Uint8Array>;

/** File contents from a directory tree holding the image (the build's staging root). */
export function treeContent(tree: string): FileContent {
  return async function* (e) {
    const src = await open(join(tree, e.path), 'r');
    const buf = Buffer.alloc(1 << 20);
    try {
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await src.close();
    }
  };
}

/** File contents assembled from a chunk store (each chunk checked against its id), holes as zeros. */
export function storeContent(store: ChunkStore): FileContent {
  return async function* (e) {
    await initChunkCodec();
    for (const x of e.extents) {
      if ('hole' in x) for (let left = x.hole; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length));
      else yield openChunk(await store.getChunk(x.id), x, { digestChecked: true });
    }
  };
}
const ZEROS = new Uint8Array(1 << 20);

/**
 * The initramfs of an OS image: every manifest entry, in manifest order, its file contents from
 * `content` (hashed on the way: each must match the manifest's fingerprint), then
 * what the kernel and init need before devtmpfs is mounted and the manifest itself, all under
 * mount points that init does not verify: dev/console (the kernel opens it for init's stdio),
 * dev/null and run/zos/root.manifest.
 * Uncompressed: under TCG the kernel copies it faster than it could inflate it.
 */
export async function writeInitramfs(content: FileContent, m: Manifest, manifestBytes: Uint8Array, out: string): Promise<{ bytes: number }> {
  const fh = await open(out, 'w', 0o644);
  let ino = 1;
  let bytes = 0;
  const write = async (b: Uint8Array) => {
    await fh.write(b);
    bytes += b.length;
  };
  const mtimeS = (ns: string) => Number(BigInt(ns) / 1_000_000_000n);
  try {
    for (const e of m.entries) {
      const name = e.path;
      if (e.type === 'dir') await write(cpioMember({ name, mode: S_IFDIR | e.mode, uid: e.uid, gid: e.gid, mtime: mtimeS(e.mtime) }, undefined, ino++));
      else if (e.type === 'symlink') await write(cpioMember({ name, mode: S_IFLNK | 0o777, uid: e.uid, gid: e.gid, mtime: mtimeS(e.mtime) }, Buffer.from(e.target), ino++));
      else if (e.type === 'file') {
        await write(cpioHeader({ name, mode: S_IFREG | e.mode, uid: e.uid, gid: e.gid, mtime: mtimeS(e.mtime), size: e.size }, ino++));
        const h = newHasher();
        let left = e.size;
        for await (const piece of content(e)) {
          if (piece.length > left) throw new Error(`"${name}" is longer than its manifest size`);
          h.update(piece);
          await write(piece);
          left -= piece.length;
        }
        if (left > 0) throw new Error(`"${name}" is shorter than its manifest size`);
        if (h.digestHex() !== e.blake3) throw new Error(`"${name}" does not match its manifest fingerprint`);
        await write(Buffer.alloc(pad4(e.size)));
      } else throw new Error(`"${name}": ${e.type} entries are not supported in the OS root`);
    }
    await write(cpioMember({ name: 'dev/console', mode: S_IFCHR | 0o600, uid: 0, gid: 0, mtime: 0, rdevMajor: 5, rdevMinor: 1 }, undefined, ino++));
    // Child processes get /dev/null as stdin; init spawns mount before devtmpfs is on /dev.
    await write(cpioMember({ name: 'dev/null', mode: S_IFCHR | 0o666, uid: 0, gid: 0, mtime: 0, rdevMajor: 1, rdevMinor: 3 }, undefined, ino++));
    await write(cpioMember({ name: 'run/zos', mode: S_IFDIR | 0o755, uid: 0, gid: 0, mtime: 0 }, undefined, ino++));
    await write(cpioMember({ name: ROOT_MANIFEST_PATH, mode: S_IFREG | 0o444, uid: 0, gid: 0, mtime: 0 }, manifestBytes, ino++));
    await write(cpioTrailer());
  } finally {
    await fh.close();
  }
  return { bytes };
}
