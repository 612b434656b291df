import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Logger } from '../lib/log.ts';
import { silentLogger } from '../lib/log.ts';
import { earlyWriteback } from '../lib/durable.ts';
import { WorkerError } from '../lib/workers.ts';
import type { FileToStore, StoredFile, StoreFailed } from './build-worker.ts';
import { runSharedList } from './shared-list.ts';
import { buildTrace } from './build-trace.ts';
import { buildWorkers, warmImageWorkers } from './worker-pool.ts';
import { CHUNKING_ALGO, DEFAULT_CHUNKING, validateChunking, type ChunkingParams } from './chunker.ts';
import { ImageError } from './errors.ts';
import { canonicalJson } from './canonical-json.ts';
import { ENCRYPTION, checkManifest, encodeManifestFrom, type Entry, type Manifest } from './manifest.ts';
import { formatRef, isValidName } from './ref.ts';
import { scanTree, splitRdev } from './scan.ts';
import { DirStore } from './store/dir-store.ts';
import { newClaims } from './store/claims.ts';
import type { PackEntry } from './store/packs.ts';
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

/** New chunk bytes between two syncfs that start writeback early (lib/durable earlyWriteback). */
const WRITEBACK_EVERY = 16 << 20;

/** Build an image from a directory, or from a tarball (extracted with the system tar first). */
export async function buildImage(source: string, opts: BuildOptions): Promise<BuildResult> {
  if (opts.tag !== undefined && !isValidName(opts.tag)) throw new ImageError('BAD_REF', `bad tag "${opts.tag}"`);
  // Workers write chunk files into the store's directory: the only writable store is a DirStore.
  if (!opts.store.writable || !(opts.store instanceof DirStore)) throw new ImageError('READ_ONLY', `store ${opts.store.location} is read-only`);
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
  validateChunking(chunking);
  const trace = buildTrace();
  // Every file is read, chunked, sealed and stored on the image workers (image/build-worker.ts on
  // image/worker-pool.ts's threads), so a build uses every core: each worker gets one job, the
  // whole list of files, taken from a shared cursor (image/shared-list.ts).
  warmImageWorkers(); // started (if they are not up) while the tree is scanned
  trace?.mark('pool started');
  const items = await scanTree(root);
  trace?.mark('scanned');
  const xattrs = await loadXattrs(root, opts.xattrs ?? 'auto', log);
  const files = items.filter((i) => i.kind === 'file' && !i.linkOf);
  const progress: BuildProgress = { bytesDone: 0, bytesTotal: files.reduce((n, f) => n + Number(f.st.size), 0), filesDone: 0, filesTotal: files.length };
  const stats = { chunks: 0, holeBytes: 0, unique: new Set<string>(), added: new Map<string, number>() };
  const entries: Entry[] = [];
  /** Each entry's canonical JSON, made as soon as it is complete (the manifest's bytes are these joined). */
  const texts: string[] = [];
  const add = (slot: number, e: Entry) => {
    entries[slot] = e;
    texts[slot] = canonicalJson(e);
  };
  /** Files are stored on the workers; each fills its own slot. */
  const fileJobs: Array<{ slot: number; abs: string; size: number; mode: number; owned: Omit<Extract<Entry, { type: 'file' }>, 'type' | 'mode' | 'size' | 'blake3' | 'extents'> }> = [];
  for (const it of items) {
    if (it.kind === 'socket') {
      log.warn({ path: it.path }, 'skipping socket: sockets cannot be stored in an image');
      continue;
    }
    if (it.linkOf) {
      add(entries.length, { type: 'hardlink', path: it.path, target: it.linkOf });
      continue;
    }
    const owned = { path: it.path, uid: Number(it.st.uid), gid: Number(it.st.gid), mtime: it.st.mtimeNs.toString(), ...xattrsOf(xattrs, it.path) };
    const mode = Number(it.st.mode & 0o7777n);
    switch (it.kind) {
      case 'dir':
      case 'fifo':
        add(entries.length, { type: it.kind, mode, ...owned });
        break;
      case 'symlink':
        add(entries.length, { type: 'symlink', target: it.target!, ...owned });
        break;
      case 'char':
      case 'block':
        add(entries.length, { type: it.kind, mode, ...owned, ...splitRdev(it.st.rdev) });
        break;
      case 'file':
        fileJobs.push({ slot: entries.length, abs: it.abs, size: Number(it.st.size), mode, owned });
        entries.push(undefined as unknown as Entry); // filled in below
        texts.push('');
        break;
    }
  }
  const dirStore = opts.store as DirStore; // checked by buildImage
  // The packs' writeback starts while the workers compress: setTag's sync (which makes them
  // durable) then waits for the last few MiB only, not for all of them.
  const writeback = earlyWriteback(() => dirStore.sync(), WRITEBACK_EVERY);
  // About one chunk per file and per average chunk size of its bytes: a bound the table doubles.
  const claims = newClaims(fileJobs.length + Math.ceil(progress.bytesTotal / chunking.avg), dirStore.packedIds());
  const job = { chunking, encrypt: opts.encrypt ?? false, store: dirStore.location, claims };
  /** Each worker's pack (its path in tmp/) and the blobs in it. */
  const packs = new Map<string, PackEntry[]>();
  const toWorker = ({ abs, size }: (typeof fileJobs)[number]): FileToStore => ({ path: abs, size });
  const failed = await runSharedList<(typeof fileJobs)[number], typeof job, StoredFile, StoreFailed>(buildWorkers, fileJobs, job, toWorker, {
    result({ abs, size, mode, owned, slot }, r) {
      if (progress.filesDone === 0) trace?.mark('first files back');
      if (r.size !== size) throw new ImageError('BAD_INPUT', `${abs} changed while it was being read (${size} -> ${r.size} bytes)`);
      for (const x of r.extents) {
        if ('hole' in x) stats.holeBytes += x.hole;
        else {
          stats.chunks++;
          stats.unique.add(x.id);
        }
      }
      // Two workers write the same chunk only when the claims table was full: it is counted once.
      for (const { id, bytes, pack, offset } of r.added) {
        stats.added.set(id, bytes);
        writeback.written(bytes);
        const entries = packs.get(pack) ?? [];
        entries.push({ id, offset, length: bytes });
        packs.set(pack, entries);
      }
      add(slot, { type: 'file', mode, ...owned, size, blake3: r.blake3, extents: r.extents });
      progress.bytesDone += size;
      progress.filesDone++;
    },
    batch: () => opts.onProgress?.(progress),
  }).catch(async (err: unknown) => {
    await dropPacks(packs.keys());
    throw err;
  });
  if (failed) {
    await dropPacks(packs.keys());
    throw new WorkerError(failed.failure.message);
  }
  for (const [tmp, entries] of packs) await dirStore.addPack(tmp, entries);
  trace?.mark('files stored');
  const head: Omit<Manifest, 'entries'> = { version: 1, chunking: { algo: CHUNKING_ALGO, ...chunking }, encryption: opts.encrypt ? ENCRYPTION.convergent : ENCRYPTION.none };
  const manifest: Manifest = { ...head, entries };
  // The manifest is checked and written while the last writeback kick ends.
  const settled = writeback.settle();
  settled.catch(() => {}); // awaited below: a failed check first must not leave it unhandled
  checkManifest(manifest);
  const bytes = encodeManifestFrom(head, texts);
  const digest = await opts.store.putManifest(bytes);
  await dirStore.putPackList(digest, stats.unique);
  await settled;
  trace?.mark('manifest stored');
  if (opts.tag) await opts.store.setTag(opts.tag, digest);
  trace?.mark('tagged');
  trace?.print();
  log.info({ digest, tag: opts.tag, files: files.length, newChunks: stats.added.size }, 'image built');
  return {
    digest,
    ref: formatRef(opts.tag, digest),
    manifest,
    manifestBytes: bytes.length,
    files: files.length,
    bytes: progress.bytesTotal,
    chunks: stats.chunks,
    uniqueChunks: stats.unique.size,
    newChunks: stats.added.size,
    newChunkBytes: [...stats.added.values()].reduce((n, b) => n + b, 0),
    holeBytes: stats.holeBytes,
  };
}

/** A failed build's packs, still in tmp/ (a worker's write that failed leaves its pack to gc's sweep of tmp/). */
async function dropPacks(tmps: Iterable<string>): Promise<void> {
  await Promise.all([...tmps].map((p) => rm(p, { force: true })));
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
