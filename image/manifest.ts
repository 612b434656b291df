import { z } from 'zod';
import { canonicalJson, isCanonicalJson } from './canonical-json.ts';
import { blake3Hex } from './hash.ts';
import { CHUNKING_ALGO, validateChunking } from './chunker.ts';
import { ImageError } from './errors.ts';

/** Manifest format v1 (SPEC.md §3). Pure: schema, canonical encoding, digest, path rules. */
export const MANIFEST_VERSION = 1;
export const ENCRYPTION = { none: 'none', convergent: 'convergent-aes-256-gcm-v1' } as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const u32 = z.number().int().min(0).max(0xffffffff);
const size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Nanoseconds since the epoch as a decimal string (does not fit a JSON-safe integer). */
const mtime = z.string().regex(/^-?(0|[1-9][0-9]{0,20})$/);
const xattrs = z.record(z.string().min(1).max(255), z.string().max(1 << 20)).optional(); // value: base64
const path = z.string().min(1).max(4096);

const owned = { path, uid: u32, gid: u32, mtime, xattrs };
const chunkExtent = z.object({ id: hex64, size: size.min(1), key: hex64.optional() }).strict();
const holeExtent = z.object({ hole: size.min(1) }).strict();
export type ChunkExtent = z.infer<typeof chunkExtent>;
export type HoleExtent = z.infer<typeof holeExtent>;
export type Extent = ChunkExtent | HoleExtent;

const dirEntry = z.object({ type: z.literal('dir'), mode: z.number().int().min(0).max(0o7777), ...owned }).strict();
const fileEntry = z
  .object({
    type: z.literal('file'),
    mode: z.number().int().min(0).max(0o7777),
    ...owned,
    size,
    blake3: hex64,
    extents: z.array(z.union([chunkExtent, holeExtent])),
  })
  .strict();
const symlinkEntry = z.object({ type: z.literal('symlink'), target: z.string().min(1).max(4096), ...owned }).strict();
const hardlinkEntry = z.object({ type: z.literal('hardlink'), path, target: path }).strict();
const deviceEntry = z
  .object({ type: z.enum(['char', 'block']), mode: z.number().int().min(0).max(0o7777), ...owned, major: u32, minor: u32 })
  .strict();
const fifoEntry = z.object({ type: z.literal('fifo'), mode: z.number().int().min(0).max(0o7777), ...owned }).strict();

export const entrySchema = z.discriminatedUnion('type', [dirEntry, fileEntry, symlinkEntry, hardlinkEntry, deviceEntry, fifoEntry]);
export type Entry = z.infer<typeof entrySchema>;
export type DirEntry = z.infer<typeof dirEntry>;
export type FileEntry = z.infer<typeof fileEntry>;
export type SymlinkEntry = z.infer<typeof symlinkEntry>;
export type HardlinkEntry = z.infer<typeof hardlinkEntry>;
export type DeviceEntry = z.infer<typeof deviceEntry>;

export const manifestSchema = z
  .object({
    version: z.literal(MANIFEST_VERSION),
    chunking: z.object({ algo: z.literal(CHUNKING_ALGO), min: size, avg: size, max: size }).strict(),
    encryption: z.enum([ENCRYPTION.none, ENCRYPTION.convergent]),
    entries: z.array(entrySchema).min(1),
  })
  .strict();
export type Manifest = z.infer<typeof manifestSchema>;

const utf8 = new TextEncoder();
/** Entries are ordered by the UTF-8 bytes of their path; "." (the root) sorts first. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function sortEntries(entries: Entry[]): Entry[] {
  return [...entries].sort((a, b) => comparePaths(a.path, b.path));
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
}

function checkPath(p: string): string | undefined {
  if (p === '.') return undefined;
  if (p.startsWith('/') || p.endsWith('/')) return 'must be relative without trailing slash';
  if (p.includes('\0')) return 'contains NUL';
  for (const part of p.split('/')) if (part === '' || part === '.' || part === '..') return `bad component "${part}"`;
  if (Buffer.from(p, 'utf8').toString('utf8') !== p) return 'not valid UTF-8';
  return undefined;
}

/**
 * Structural rules beyond the schema: sorted unique paths, root first and a dir, every parent is a
 * dir entry (so no path can traverse a symlink), hard links point at earlier regular files, and
 * file extents add up to the file size.
 */
export function checkManifest(m: Manifest): void {
  const bad = (msg: string) => new ImageError('BAD_MANIFEST', `manifest: ${msg}`);
  validateChunking(m.chunking);
  const kinds = new Map<string, Entry['type']>();
  let prev: string | undefined;
  for (const e of m.entries) {
    if (prev === undefined && (e.path !== '.' || e.type !== 'dir')) throw bad('first entry must be the root directory "."');
    if (prev !== undefined && comparePaths(prev, e.path) >= 0) throw bad(`entries not sorted or duplicated at "${e.path}"`);
    const why = checkPath(e.path);
    if (why) throw bad(`path "${e.path}" ${why}`);
    if (e.path !== '.' && kinds.get(parentOf(e.path)) !== 'dir') throw bad(`"${e.path}" has no parent directory entry`);
    if (e.type === 'hardlink' && kinds.get(e.target) !== 'file') throw bad(`hard link "${e.path}" must target an earlier regular file, not "${e.target}"`);
    if (e.type === 'file') {
      let total = 0;
      for (const x of e.extents) {
        total += 'hole' in x ? x.hole : x.size;
        if (!('hole' in x) && (x.key !== undefined) !== (m.encryption !== ENCRYPTION.none)) throw bad(`"${e.path}": chunk key presence does not match encryption "${m.encryption}"`);
      }
      if (total !== e.size) throw bad(`"${e.path}": extents add up to ${total}, size is ${e.size}`);
    }
    kinds.set(e.path, e.type);
    prev = e.path;
  }
}

export function encodeManifest(m: Manifest): Uint8Array {
  return utf8.encode(canonicalJson(m));
}

/**
 * encodeManifest's bytes from entries encoded one by one (canonicalJson of each, in order): a
 * build encodes each entry while its workers still run, not all of them after the last one.
 */
export function encodeManifestFrom(m: Omit<Manifest, 'entries'>, entryTexts: readonly string[]): Uint8Array {
  const outer = canonicalJson({ ...m, entries: [] });
  const at = outer.indexOf(ENTRIES) + ENTRIES.length - 1; // before the "]"
  return utf8.encode(`${outer.slice(0, at)}${entryTexts.join(',')}${outer.slice(at)}`);
}
const ENTRIES = '"entries":[]'; // the only such text: the other fields hold numbers and fixed names

export function manifestDigest(bytes: Uint8Array): string {
  return blake3Hex(bytes);
}

/** Parse, validate and require canonical bytes, so one manifest has exactly one digest. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ImageError('BAD_MANIFEST', 'manifest: not JSON', { cause: err });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new ImageError('BAD_MANIFEST', `manifest: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  checkManifest(parsed.data);
  // The schema took every number as a safe integer and left nothing out (strict objects), so the
  // parsed value is what was encoded.
  if (!isCanonicalJson(bytes, raw)) throw new ImageError('BAD_MANIFEST', 'manifest: not in canonical encoding');
  return parsed.data;
}

/** Every distinct chunk a manifest references, with the ref needed to open it. */
export function manifestChunks(m: Manifest): Map<string, ChunkExtent> {
  const out = new Map<string, ChunkExtent>();
  for (const e of m.entries) if (e.type === 'file') for (const x of e.extents) if (!('hole' in x)) out.set(x.id, x);
  return out;
}
