import { open, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Logger } from '../lib/log.ts';
import { silentLogger } from '../lib/log.ts';
import { mapLimit } from '../lib/parallel.ts';
import { ChunkStream, CHUNKING_ALGO, DEFAULT_CHUNKING, type ChunkingParams } from './chunker.ts';
import { initChunkCodec, sealChunkAsync } from './chunk-codec.ts';
import { ImageError } from './errors.ts';
import { newHasher } from './hash.ts';
import { ENCRYPTION, checkManifest, encodeManifest, type Entry, type Extent, type Manifest } from './manifest.ts';
import { formatRef, isValidName } from './ref.ts';
import { scanTree, splitRdev, type ScanItem } from './scan.ts';
import type { ImageStore } from './store/types.ts';
import { hasXattrTools, readTreeXattrs, type Xattrs } from './xattr.ts';

export interface BuildProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface BuildOptions {
  store: ImageStore;
  tag?: string;
  chunking?: ChunkingParams;
  encrypt?: boolean;
  /** 'auto' reads xattrs when the attr tools exist (warns otherwise); 'require' fails without them. */
  xattrs?: 'auto' | 'require' | 'skip';
  log?: Logger;
  onProgress?: (p: BuildProgress) => void;
}

export interface BuildResult {
  digest: string;
  ref: string;
  manifest: Manifest;
  manifestBytes: number;
  files: number;
  bytes: number;
  chunks: number;
  uniqueChunks: number;
  newChunks: number;
  newChunkBytes: number;
  holeBytes: number;
}

const READ_BLOCK = 1 << 20;
/** Files read at once: keeps the thread pool fed across small files and overlaps the reads. */
const FILES_IN_FLIGHT = 4;
/** Chunks of one file being sealed at once on the thread pool (bounds memory for a large file). */
const CHUNKS_IN_FLIGHT = 8;

/** Build an image from a directory, or from a tarball (extracted with the system tar first). */
export async function buildImage(source: string, opts: BuildOptions): Promise<BuildResult> {
  if (opts.tag !== undefined && !isValidName(opts.tag)) throw new ImageError('BAD_REF', `bad tag "${opts.tag}"`);
  if (!opts.store.writable) throw new ImageError('READ_ONLY', `store ${opts.store.location} is read-only`);
  const st = await stat(source).catch((err: unknown) => {
    throw new ImageError('BAD_INPUT', `cannot read ${source}: ${(err as Error).message}`, { cause: err });
  });
  if (st.isDirectory()) return buildFromDir(source, opts);
  const dir = await mkdtemp(join(tmpdir(), 'zos-image-tar-'));
  try {
    const r = await execa('tar', ['-xf', source, '-C', dir, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*'], { reject: false });
    if (r.exitCode !== 0) throw new ImageError('BAD_INPUT', `tar could not extract ${source}: ${r.stderr.trim()}`);
    return await buildFromDir(dir, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function buildFromDir(root: string, opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? silentLogger();
  const chunking = opts.chunking ?? DEFAULT_CHUNKING;
  await initChunkCodec();
  const items = await scanTree(root);
  const xattrs = await loadXattrs(root, opts.xattrs ?? 'auto', log);
  const files = items.filter((i) => i.kind === 'file' && !i.linkOf);
  const progress: BuildProgress = { bytesDone: 0, bytesTotal: files.reduce((n, f) => n + Number(f.st.size), 0), filesDone: 0, filesTotal: files.length };
  const stats = { chunks: 0, newChunks: 0, newChunkBytes: 0, holeBytes: 0, unique: new Set<string>() };
  const entries: Entry[] = [];
  /** Files are stored FILES_IN_FLIGHT at a time (their chunks sealed on the thread pool); each fills its own slot. */
  const fileJobs: Array<{ slot: number; it: ScanItem; mode: number; owned: Omit<Extract<Entry, { type: 'file' }>, 'type' | 'mode' | 'size' | 'blake3' | 'extents'> }> = [];
  for (const it of items) {
    if (it.kind === 'socket') {
      log.warn({ path: it.path }, 'skipping socket: sockets cannot be stored in an image');
      continue;
    }
    if (it.linkOf) {
      entries.push({ type: 'hardlink', path: it.path, target: it.linkOf });
      continue;
    }
    const owned = { path: it.path, uid: Number(it.st.uid), gid: Number(it.st.gid), mtime: it.st.mtimeNs.toString(), ...xattrsOf(xattrs, it.path) };
    const mode = Number(it.st.mode & 0o7777n);
    switch (it.kind) {
      case 'dir':
      case 'fifo':
        entries.push({ type: it.kind, mode, ...owned });
        break;
      case 'symlink':
        entries.push({ type: 'symlink', target: it.target!, ...owned });
        break;
      case 'char':
      case 'block':
        entries.push({ type: it.kind, mode, ...owned, ...splitRdev(it.st.rdev) });
        break;
      case 'file':
        fileJobs.push({ slot: entries.length, it, mode, owned });
        entries.push(undefined as unknown as Entry); // filled in below
        break;
    }
  }
  await mapLimit(fileJobs, FILES_IN_FLIGHT, async ({ slot, it, mode, owned }) => {
    const { size, blake3, extents } = await storeFile(it, chunking, opts, stats, (n) => {
      progress.bytesDone += n;
      opts.onProgress?.(progress);
    });
    entries[slot] = { type: 'file', mode, ...owned, size, blake3, extents };
    progress.filesDone++;
    opts.onProgress?.(progress);
  });
  const manifest: Manifest = {
    version: 1,
    chunking: { algo: CHUNKING_ALGO, ...chunking },
    encryption: opts.encrypt ? ENCRYPTION.convergent : ENCRYPTION.none,
    entries,
  };
  checkManifest(manifest);
  const bytes = encodeManifest(manifest);
  const digest = await opts.store.putManifest(bytes);
  if (opts.tag) await opts.store.setTag(opts.tag, digest);
  log.info({ digest, tag: opts.tag, files: files.length, newChunks: stats.newChunks }, 'image built');
  return {
    digest,
    ref: formatRef(opts.tag, digest),
    manifest,
    manifestBytes: bytes.length,
    files: files.length,
    bytes: progress.bytesTotal,
    chunks: stats.chunks,
    uniqueChunks: stats.unique.size,
    newChunks: stats.newChunks,
    newChunkBytes: stats.newChunkBytes,
    holeBytes: stats.holeBytes,
  };
}

async function loadXattrs(root: string, mode: 'auto' | 'require' | 'skip', log: Logger): Promise<Map<string, Xattrs>> {
  if (mode === 'skip') return new Map();
  if (mode === 'auto' && !(await hasXattrTools())) {
    log.warn('getfattr not found (Debian package "attr"): building without extended attributes');
    return new Map();
  }
  return readTreeXattrs(root);
}

function xattrsOf(all: Map<string, Xattrs>, path: string): { xattrs?: Xattrs } {
  const x = all.get(path);
  return x ? { xattrs: x } : {};
}

function isZero(buf: Uint8Array): boolean {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.equals(zeros(b.length));
}
let zeroBuf = Buffer.alloc(0);
function zeros(n: number): Buffer {
  if (zeroBuf.length < n) zeroBuf = Buffer.alloc(Math.max(n, 1 << 18));
  return zeroBuf.subarray(0, n);
}

/** Stream one file: whole-file BLAKE3, CDC chunks sealed (zstd on the thread pool) and stored, all-zero chunks as holes. */
async function storeFile(
  it: ScanItem,
  chunking: ChunkingParams,
  opts: BuildOptions,
  stats: { chunks: number; newChunks: number; newChunkBytes: number; holeBytes: number; unique: Set<string> },
  advanced: (n: number) => void,
): Promise<{ size: number; blake3: string; extents: Extent[] }> {
  const hasher = newHasher();
  const stream = new ChunkStream(chunking);
  const extents: Extent[] = [];
  // Chunks being sealed, oldest first; their extents are appended in file order as they finish.
  const sealing: Array<Promise<Extent> | Extent> = [];
  const append = (x: Extent) => {
    const last = extents[extents.length - 1];
    if ('hole' in x && last && 'hole' in last) last.hole += x.hole;
    else extents.push(x);
  };
  const seal = async (plain: Uint8Array): Promise<Extent> => {
    const sealed = await sealChunkAsync(plain, { encrypt: opts.encrypt ?? false });
    stats.chunks++;
    // Files are stored concurrently: a chunk already met in this build is not put (or counted) twice.
    const first = !stats.unique.has(sealed.id);
    stats.unique.add(sealed.id);
    if (first && (await opts.store.putChunk(sealed.id, sealed.blob))) {
      stats.newChunks++;
      stats.newChunkBytes += sealed.blob.length;
    }
    return { id: sealed.id, size: plain.length, ...(sealed.key ? { key: sealed.key } : {}) };
  };
  const emit = async (chunk: Uint8Array) => {
    if (isZero(chunk)) {
      stats.holeBytes += chunk.length;
      sealing.push({ hole: chunk.length });
    } else {
      const p = seal(chunk);
      p.catch(() => {}); // awaited in order below; this only keeps an early failure from counting as unhandled
      sealing.push(p);
    }
    while (sealing.length > CHUNKS_IN_FLIGHT) append(await sealing.shift()!);
  };
  const fh = await open(it.abs, 'r');
  let size = 0;
  try {
    for (;;) {
      // A fresh buffer per read: the chunks being sealed are views of the previous ones. Sized to
      // what is left (+1 to see the end, or growth), so a small file costs a small buffer.
      const buf = Buffer.allocUnsafe(Math.min(READ_BLOCK, Math.max(0, Number(it.st.size) - size) + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const data = buf.subarray(0, bytesRead);
      hasher.update(data);
      size += bytesRead;
      for (const c of stream.push(data)) await emit(c);
      advanced(bytesRead);
      if (BigInt(size) > it.st.size) break; // it grew: refused below
    }
    for (const c of stream.end()) await emit(c);
    while (sealing.length > 0) append(await sealing.shift()!);
  } finally {
    await Promise.allSettled(sealing); // none left running after a failure
    await fh.close();
  }
  if (BigInt(size) !== it.st.size) throw new ImageError('BAD_INPUT', `${it.abs} changed while it was being read (${it.st.size} -> ${size} bytes)`);
  return { size, blake3: hasher.digestHex(), extents };
}
