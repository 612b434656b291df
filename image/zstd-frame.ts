/**
 * The most bytes a zstd frame can decode to, read from its headers alone (RFC 8878 §3.1.1): a raw
 * or RLE block says its size, a compressed block yields at most the block maximum
 * (min(window, 128 KiB)). Pure, no I/O. The chunk codec checks it before the decoder allocates
 * anything, so a small blob cannot expand into gigabytes (a decompression bomb). Returns a reason
 * string for anything but exactly one well-formed frame.
 */
const MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

export interface FrameBound {
  /** Content size the frame header declares, if it does. */
  contentSize?: number;
  /** Upper bound of the decoded size. */
  bound: number;
}

export function zstdFrameBound(f: Uint8Array): FrameBound | string {
  if (f.length < 6) return 'frame too short';
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return 'not a zstd frame';
  const fhd = f[4]!;
  if (fhd & 0x08) return 'reserved header bit set';
  const single = (fhd & 0x20) !== 0;
  const fcsFlag = fhd >> 6;
  const didBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  let at = 5;
  let window = 0;
  if (!single) {
    const wd = f[at++]!;
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  at += didBytes;
  if (at + fcsBytes > f.length) return 'truncated frame header';
  let contentSize: number | undefined;
  if (fcsBytes > 0) {
    let n = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) n = n * 256 + f[at + i]!;
    contentSize = fcsBytes === 2 ? n + 256 : n;
    at += fcsBytes;
    if (single) window = contentSize;
  }
  const blockMax = Math.min(window, BLOCK_MAX);
  let bound = 0;
  for (;;) {
    if (at + 3 > f.length) return 'truncated block header';
    const h = f[at]! | (f[at + 1]! << 8) | (f[at + 2]! << 16);
    at += 3;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    if (type === 3) return 'reserved block type';
    if (size > blockMax) return 'block larger than the frame allows';
    const stored = type === 1 ? 1 : size; // an RLE block stores one byte
    if (at + stored > f.length) return 'truncated block';
    at += stored;
    bound += type === 2 ? blockMax : size;
    if (h & 1) break;
  }
  if (fhd & 0x04) at += 4; // content checksum
  if (at !== f.length) return at > f.length ? 'truncated checksum' : 'data after the frame';
  return contentSize === undefined ? { bound } : { contentSize, bound };
}
