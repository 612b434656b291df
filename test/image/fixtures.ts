import { chmod, chown, link, lutimes, mkdir, mkdtemp, open, readdir, readFile, rename, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { openImageStore, type ImageNode } from '../../image/index.ts';
import { isRoot } from '../../image/fsutil.ts';
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import type { StoredFile, StoreFilesJob, StoreFilesOutcome } from '../../image/build-worker.ts';
import { newClaims } from '../../image/store/claims.ts';
import type { DirStore } from '../../image/store/dir-store.ts';
import { decodePackIndex, encodePackIndex } from '../../image/store/packs.ts';
import { blake3Hex } from '../../image/hash.ts';

/** Temp dir removed after the test (mounts below it must be gone first). */
export async function tempDir(t: TestContext, prefix = 'zos-image-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Deterministic pseudo-random bytes (xorshift32), so tests are reproducible and incompressible. */
export function prng(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, n - 4));
  }
  return out;
}

export async function hasTool(cmd: string, args = ['--version']): Promise<boolean> {
  const r = await execa(cmd, args, { reject: false }).catch(() => undefined);
  return r?.exitCode === 0;
}

/**
 * A tree with every kind of entry: modes incl. setuid, owners, symlinks, hard links, a fifo, a
 * char device (root only), a sparse file, an empty file, unicode names and xattrs (when asked).
 */
export async function makeRichTree(dir: string, opts: { root: boolean; xattrs: boolean }): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc/conf.d'), { recursive: true });
  await mkdir(join(dir, 'data/ünïcødé 目录'), { recursive: true });
  await writeFile(join(dir, 'bin/tool'), prng(300_000, 1));
  await writeFile(join(dir, 'etc/hostname'), 'zos\n');
  await chmod(join(dir, 'etc/hostname'), 0o640);
  await writeFile(join(dir, 'etc/conf.d/empty'), '');
  await writeFile(join(dir, 'data/ünïcødé 目录/файл.txt'), 'привет\n'.repeat(1000));
  await link(join(dir, 'bin/tool'), join(dir, 'bin/tool-hardlink'));
  await symlink('../etc/hostname', join(dir, 'bin/hostname-link'));
  await symlink('/nonexistent/absolute', join(dir, 'dangling'));
  // Sparse: 8 MiB hole, 100 KiB data, 4 MiB hole at the end.
  const fh = await open(join(dir, 'data/sparse.img'), 'w');
  await fh.write(prng(100_000, 7), 0, 100_000, 8 << 20);
  await fh.close();
  await truncate(join(dir, 'data/sparse.img'), (8 << 20) + 100_000 + (4 << 20));
  await execa('mkfifo', ['-m', '0620', join(dir, 'data/pipe')]);
  if (opts.root) {
    await execa('mknod', ['-m', '0666', join(dir, 'data/null'), 'c', '1', '3']);
    await chown(join(dir, 'etc/hostname'), 1234, 5678);
    await chown(join(dir, 'data'), 42, 43);
    await execa('chown', ['-h', '777:888', join(dir, 'bin/hostname-link')]);
  }
  if (opts.xattrs) {
    await execa('setfattr', ['-n', 'user.purpose', '-v', 'testing', join(dir, 'etc/hostname')]);
    await execa('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', join(dir, 'bin/tool')]);
    await execa('setfattr', ['-n', 'user.dir', '-v', 'yes', join(dir, 'data/ünïcødé 目录')]);
    // A file capability (cap_net_raw=ep) on a file with a foreign owner: chown clears it, so a
    // materialize must set the owner before the xattrs, as here.
    if (opts.root) await execa('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', join(dir, 'etc/hostname')]);
  }
  await chmod(join(dir, 'bin/tool'), 0o4755); // last: chown and some xattr writes clear set-id bits
  await utimes(join(dir, 'etc/hostname'), 1_600_000_000.123456, 1_600_000_000.123456);
  await lutimes(join(dir, 'bin/hostname-link'), 1_500_000_000, 1_500_000_000);
  await utimes(join(dir, 'bin'), 1_400_000_000, 1_400_000_000);
}

/** A store under a temp dir holding the rich tree (makeRichTree) built as tag `app`. */
export async function richImage(t: TestContext): Promise<{ dir: string; node: ImageNode; digest: string }> {
  const dir = await tempDir(t);
  await makeRichTree(join(dir, 'src'), { root: isRoot(), xattrs: await hasTool('setfattr') });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const r = await node.build(join(dir, 'src'), { tag: 'app' });
  return { dir, node, digest: r.digest };
}

/**
 * Runs a build worker's work() on this thread as a build's only worker (the whole list, a fresh
 * cursor, a channel of its own: image/shared-list.ts) and gives back every file it posted, in list
 * order with its place in the list, and the worker's outcome.
 */
export async function storeWithWorker(
  work: (job: StoreFilesJob) => Promise<StoreFilesOutcome>,
  files: Array<{ path: string; size: number }>,
  job: Pick<StoreFilesJob, 'chunking' | 'encrypt' | 'store'> & { claims?: SharedArrayBuffer },
): Promise<{ stored: Array<StoredFile & { index: number }>; outcome: StoreFilesOutcome }> {
  const name = `zos-test-build-${randomUUID()}`;
  const channel = new BroadcastChannel(name);
  const stored: Array<StoredFile & { index: number }> = [];
  channel.onmessage = (ev) => {
    const [indexes, results] = (ev as { data: [number[], StoredFile[]] }).data;
    indexes.forEach((index, i) => stored.push({ index, ...results[i]! }));
  };
  try {
    const outcome = await work({ claims: newClaims(16, []), ...job, list: JSON.stringify(files), shared: new SharedArrayBuffer(8), channel: name });
    while (stored.length < outcome.posted) await new Promise((resolve) => setImmediate(resolve));
    return { stored: stored.sort((a, b) => a.index - b.index), outcome };
  } finally {
    channel.close();
  }
}

/** Changes one byte of a file (XOR 0x5a: always a different byte). */
export async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  await fh.write(Buffer.from([b[0]! ^ 0x5a]), 0, 1, at);
  await fh.close();
}

/** Every chunk a store holds, once per copy: its chunk files, then every entry of every pack index. */
export async function storedChunkIds(location: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(join(location, 'chunks'))) out.push(...(await readdir(join(location, 'chunks', sub))));
  for (const f of await readdir(join(location, 'packs'))) {
    if (f.endsWith('.idx')) out.push(...decodePackIndex(await readFile(join(location, 'packs', f)), f).map((e) => e.id));
  }
  return out;
}

/** Where a stored chunk's blob lies (a build's chunks are in packs, a pull's are files of their own). */
export function chunkAt(store: DirStore, id: string): { path: string; offset: number; length: number } {
  const at = store.locateChunk(id);
  if (!at) throw new Error(`chunk ${id} is not in store ${store.location}`);
  return at;
}

/**
 * Rewrites the pack that holds chunk `id` as a writer of packs could have: with `blob` in its place
 * (appended, the index pointing at it), or without it (undefined). The pack's name changes with its index.
 */
export async function repackChunk(location: string, id: string, blob: Uint8Array | undefined): Promise<void> {
  const dir = join(location, 'packs');
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.idx')) continue;
    const entries = decodePackIndex(await readFile(join(dir, f)), f);
    if (!entries.some((e) => e.id === id)) continue;
    const old = join(dir, f.slice(0, -4));
    const pack = await readFile(`${old}.pack`);
    const rest = entries.filter((e) => e.id !== id);
    const index = encodePackIndex(blob ? [...rest, { id, offset: pack.length, length: blob.length }] : rest);
    const name = join(dir, blake3Hex(index));
    if (blob) await writeFile(`${old}.pack`, blob, { flag: 'a' });
    await rename(`${old}.pack`, `${name}.pack`);
    await writeFile(`${name}.idx`, index);
    await rm(`${old}.idx`);
    return;
  }
  throw new Error(`chunk ${id} is in no pack of ${location}`);
}
