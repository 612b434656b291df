/**
 * Content-defined chunking (FastCDC-style gear hash with normalized chunking). Pure: bytes in,
 * boundaries out. A cut depends only on the bytes since the previous cut, so an insert changes
 * the chunks around it and the chunker re-synchronises after at most a few chunks.
 */
export interface ChunkingParams {
  min: number;
  avg: number;
  max: number;
}

export const CHUNKING_ALGO = 'fastcdc-gear32-v1' as const;
export const DEFAULT_CHUNKING: ChunkingParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

/**
 * gear[i] = i-th little-endian u32 of BLAKE3-XOF("zos-image/gear/v1", 1024 bytes). Fixed by SPEC.md.
 * Written out (base64 of those 1024 bytes; test/image/codec derives it again): computing it
 * loaded a BLAKE3 in JavaScript into every build worker at start.
 */
export const GEAR: Int32Array = (() => {
  const bytes = Buffer.from(
    'jPFBIFOTSCbes8xfyisOVhCm1lOCbpcnqoRsSyPPRK2MbHco11WJ8MaPodcAr2GPZqfd50fqg9USFA9sHumlqHeO8OaovHYN' +
    'Stxezok+AM3PwYT7tmm6WQhYgdx3vgLrjIJqz7C2Ql4U7+3x05zztp28qUKOoq0yBPokvo7mh8Bt4oayWb3R8nVdctjYumg+' +
    'kk5nOEbVZYnCCP3TyzN7PKZQngJqSeU8pWulNzrzaY9+T+tlUU1NQeK++WxJmnfIijkb2n6wxr7B10bw7acSvqXJazKi6u0B' +
    'ZpR8nUIeSh6H2k3T34z6ItSIf6U1CwncnoPYC6D9wPy41Bx5fpqvpA5LjIxAMjHqD5HSlBo20ePL2XWVEcT/exfF5o3MtW2j' +
    'tY8wqG/w1RRMltruu7NyxzxRFVg5vah7eY/U+KzlQ9y98ChFuuFiV/QglJe4oVoc96+xfx9UTfK+cDOs1+QtKtA++0iWLSpN' +
    'KHMYzSNW6FqoDldqYnR2Y8XfV+9FDKeBcE2Wp348KMIC95A5zffIsNjI/hngOXe50w4vkWDJYEaJyDkgAVezhiukY5u0fM+p' +
    'Wn2Zda5gV0I9ydoydeU7ZoRUysLcLTF2Gcuox6OMyPXslUThvPBxLS4LZpI/hEg1w7SuIMRakXfR/O16eYIZX9jccvT/gAOw' +
    '2+0ZtQ1loM9+D+LTmXTA+PuuVXwvg2OnI9hdjXLzeSvs9tJzeseoWobqMe0bnKJ+5RbdXz2xPkuVseiN+QtUuA9Y5Bb/iYb7' +
    'pssiUkJm9q5EsPOwIzyCvLVJ0J+2t4qe91GToGs+Be8YsHVXXOI78XaN+8e0mdIGW6M7pDijtb4kJYK43+2E8SRjML6/IELg' +
    'X7qydqtlf1+2cbD3KKxpmufATFjURbsgpNFMKHogcy0XdO9OoaNEgivt9LqzHKz+laXf78R6M3JviIupxCC53MHcBIW08IGm' +
    'QwbP4c9vh5DcCM8AxAEpuCorL5Q8Gl12fAX2SLef+cDYCr0DEeFTXu4iKLbgJ3aC+jTk/dxcFBZ+pkYiOwon+n2blSOzggvY' +
    'pnqnNsMsCyqpi7o6GEc2PYVxbq8iWennimtBGGS6NBmNyD7ie2+PydFiHQIS3oaWv8sQKiMTSLbK6JhsEhazFTirJFTBEw4p' +
    'ldBp8h/Om6W0NEl1RA8nFVIn471FJOlMW8Z62qU5qOM6iZMGbcQgwy9PccyGc6pLMRNmcVQLE/eCpPdzhNn0ctmdMZlhZpKp' +
    '3aLxG0GkZdjtrfE2U/HmOM5ktIxDDk1aMi2wuuMpofcQe7g15BfEo1F8joRLG4my4GiBHyduFFVOdkvv/goAcAHZjV5v2F7P' +
    'nF/Kx1R04h8ELUgu7qOzBg==',
    'base64',
  );
  const out = new Int32Array(256);
  for (let i = 0; i < 256; i++) out[i] = bytes.readInt32LE(i * 4);
  return out;
})();

/** Mask with `bits` one-bits at the top of a 32-bit word (the top bits see the widest window). */
function topMask(bits: number): number {
  return bits <= 0 ? 0 : (~0 << (32 - bits)) | 0;
}

export function validateChunking(p: ChunkingParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || !(p.min >= 64 && p.min < p.avg && p.avg < p.max && p.max <= 16 * 1024 * 1024)) {
    throw new RangeError(`bad chunking parameters min=${p.min} avg=${p.avg} max=${p.max}: need 64 <= min < avg < max <= 16MiB, avg a power of two`);
  }
}

/**
 * The gear scan (SPEC.md §2) in WebAssembly: image/gear-scan.wat compiled by wabt (test/image/codec
 * compiles it again and compares with these bytes). V8 runs it at ~0.35 ms per MiB here against
 * ~1.1 for its best JavaScript loop (four bytes a turn, every value in a local): wasm loads have no
 * bounds checks. It scans its own memory: the gear table at 0, then a window of the input copied
 * in (~0.1 ms per MiB), at most WINDOW bytes beyond what one scan needs, so memory stays bounded.
 */
export const GEAR_SCAN_WASM =
  'AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFAwEAAQcRAgZtZW1vcnkCAARzY2FuAAAKnAIBmQIBA38gAUEgayEFIAUgAEgEQCAAIQULAkADQCAFIAFODQEgBEEBdCAFLQAAQQJ0KAIAaiEEIAVBAWohBQwACwsgAkEDayEGAkADQCABIAZODQEgBEEBdCABLQAAQQJ0KAIAaiEEIAQgA3FFBEAgAQ8LIARBAXQgAS0AAUECdCgCAGohBCAEIANxRQRAIAFBAWoPCyAEQQF0IAEtAAJBAnQoAgBqIQQgBCADcUUEQCABQQJqDwsgBEEBdCABLQADQQJ0KAIAaiEEIAQgA3FFBEAgAUEDag8LIAFBBGohAQwACwsCQANAIAEgAk4NASAEQQF0IAEtAABBAnQoAgBqIQQgBCADcUUEQCABDwsgAUEBaiEBDAALC0F/Cw==';
const DATA_AT = 1024;
const WINDOW = 4 << 20;
/**
 * Room for the copied windows: a scan spans less than one chunk's `max` (16 MiB at most), and a
 * window is at most that or WINDOW. Buffers in place (scanBuffers) lie after it, so no copy ever
 * grows the memory under them (a grow detaches every view of the old buffer).
 */
const COPY_SPACE = Math.max(WINDOW, 16 << 20);

/** The first i in [from, to) where the gear hash of data[start..i] has no bit of `mask` set, or -1. */
type Scan = (start: number, from: number, to: number, mask: number) => number;

/** This thread's instance (module state: each worker has its own), made on first use. */
let wasm: { memory: WebAssembly.Memory; scan: (start: number, from: number, to: number, mask: number) => number } | undefined;
/** The scanner whose window is in the memory now. */
let loadedBy: object | null = null;

function instance(): NonNullable<typeof wasm> {
  if (!wasm) {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(Buffer.from(GEAR_SCAN_WASM, 'base64')))).exports;
    wasm = { memory: exports.memory as WebAssembly.Memory, scan: exports.scan as NonNullable<typeof wasm>['scan'] };
    new Int32Array(wasm.memory.buffer, 0, 256).set(GEAR);
  }
  return wasm;
}

let inPlace: { size: number; buffers: Buffer[] } | undefined;

/**
 * Room kept before each of scanBuffers' buffers for the tail a chunk stream holds back from the
 * block before (shorter than the chunk `max`: the default's, DEFAULT_CHUNKING.max): a push of a
 * buffer's block moves that tail there and scans tail and block as one view where they lie
 * (ChunkStream.push), instead of joining them in a new array (an allocation, page faults and two
 * copies of up to 2 x max bytes at every block's start).
 */
const LEAD = DEFAULT_CHUNKING.max;

/**
 * `count` buffers of `size` bytes inside this thread's scanner memory, made once per thread (the
 * same ones on every call): bytes read into them are chunked where they lie, without the copy
 * into the scanner's memory (~0.1 ms of CPU per MiB). The build worker reads files into them.
 * A push of a block read into one of them writes the room just before it (LEAD): chunks of the
 * push before the last (views of that room) are gone by then.
 */
export function scanBuffers(count: number, size: number): Buffer[] {
  if (inPlace) {
    if (inPlace.size !== size || inPlace.buffers.length !== count) throw new RangeError('scanBuffers: asked again with other sizes');
    return inPlace.buffers;
  }
  const w = instance();
  const at = DATA_AT + COPY_SPACE;
  const need = at + count * (LEAD + size);
  if (w.memory.buffer.byteLength < need) w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / 65536));
  const buffers = Array.from({ length: count }, (_, i) => Buffer.from(w.memory.buffer, at + i * (LEAD + size) + LEAD, size));
  inPlace = { size, buffers };
  return buffers;
}

/**
 * `tail` and then `block` as one view of the scanner's memory, when `block` starts one of
 * scanBuffers' buffers and `tail` fits in the room before it (copied there); else undefined.
 */
function joinInPlace(tail: Uint8Array, block: Uint8Array): Uint8Array | undefined {
  const mem = wasm?.memory.buffer;
  if (!inPlace || block.buffer !== mem || tail.length > LEAD) return undefined;
  const buf = inPlace.buffers.find((b) => b.byteOffset === block.byteOffset);
  if (!buf) return undefined;
  const start = block.byteOffset - tail.length;
  if (tail.buffer === mem) new Uint8Array(mem).copyWithin(start, tail.byteOffset, tail.byteOffset + tail.length);
  else new Uint8Array(mem, start, tail.length).set(tail);
  return new Uint8Array(mem, start, tail.length + block.length);
}

/**
 * A Scan over `data`: copies windows of it into the instance's memory as the scans move on. Used
 * within one synchronous call (a push or an end); another scanner's copy in between is noticed.
 */
function scanner(data: Uint8Array): Scan {
  const w = instance();
  if (data.buffer === w.memory.buffer) {
    // A view of one of scanBuffers' buffers: scanned where it lies.
    const at = data.byteOffset;
    return (start, from, to, mask) => {
      const i = w.scan(start + at, from + at, to + at, mask);
      return i < 0 ? -1 : i - at;
    };
  }
  const me = {};
  let base = 0;
  let end = -1;
  return (start, from, to, mask) => {
    const lo = Math.max(start, from - 32);
    if (loadedBy !== me || lo < base || to > end) {
      base = lo;
      end = Math.min(data.length, Math.max(to, lo + WINDOW));
      const need = DATA_AT + end - base;
      if (w.memory.buffer.byteLength < need) w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / 65536));
      new Uint8Array(w.memory.buffer, DATA_AT, end - base).set(data.subarray(base, end));
      loadedBy = me;
    }
    const at = DATA_AT - base;
    const i = w.scan(Math.max(start, lo) + at, from + at, to + at, mask);
    return i < 0 ? -1 : i - at;
  };
}

/**
 * Length of the next chunk at the start of data[off..off+len), or -1 when more bytes are needed
 * to decide (only possible when !eof). `scan` runs over `data`.
 */
function cutPoint(scan: Scan, off: number, len: number, eof: boolean, p: ChunkingParams): number {
  const min = p.min;
  const max = p.max;
  if (len <= min) return eof ? len : -1;
  const bits = Math.log2(p.avg);
  const span = Math.min(len, max);
  const start = off + min;
  const normal = off + Math.min(p.avg, span);
  let cut = scan(start, start, normal, topMask(bits + 2)); // stricter before avg: fewer tiny chunks
  if (cut < 0) cut = scan(start, normal, off + span, topMask(bits - 2)); // looser after avg: fewer giant chunks
  if (cut >= 0) return cut + 1 - off;
  if (span === max) return max;
  return eof ? len : -1;
}

/**
 * Streaming wrapper: push() any block sizes, get back whole chunks; end() flushes the tail.
 * Chunks are views of the pushed arrays where they can be (only a chunk that spans two pushes
 * is copied), so a caller must not reuse a pushed array while it holds chunks of it.
 */
export class ChunkStream {
  private pending: Uint8Array = new Uint8Array(0);

  constructor(private readonly params: ChunkingParams = DEFAULT_CHUNKING) {
    validateChunking(params);
  }

  push(data: Uint8Array): Uint8Array[] {
    if (data.length === 0) return [];
    const out: Uint8Array[] = [];
    let rest = data;
    const joined = this.pending.length > 0 ? joinInPlace(this.pending, data) : undefined;
    if (joined) {
      rest = joined; // the tail held back, then the block: cut from the tail's start, where they lie
      this.pending = new Uint8Array(0);
    } else if (this.pending.length > 0) {
      // The tail held back had no cut, and adding bytes does not move the ones it saw, so the
      // next cut lies past it, within `max` of its start: only that much is joined.
      const head = new Uint8Array(this.pending.length + Math.min(data.length, this.params.max));
      head.set(this.pending, 0);
      head.set(data.subarray(0, head.length - this.pending.length), this.pending.length);
      const n = cutPoint(scanner(head), 0, head.length, false, this.params);
      if (n < 0) {
        this.pending = head; // shorter than `max`, so it holds all of data
        return out;
      }
      out.push(head.subarray(0, n));
      rest = data.subarray(n - this.pending.length);
      this.pending = new Uint8Array(0);
    }
    this.drain(rest, false, out);
    return out;
  }

  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.drain(this.pending, true, out);
    return out;
  }

  private drain(buf: Uint8Array, eof: boolean, out: Uint8Array[]): void {
    let off = 0;
    const scan = scanner(buf);
    while (off < buf.length) {
      const n = cutPoint(scan, off, buf.length - off, eof, this.params);
      if (n <= 0) break;
      out.push(buf.subarray(off, off + n));
      off += n;
    }
    this.pending = buf.subarray(off);
  }
}

/** All chunk lengths of an in-memory buffer (tests and tools). */
export function chunkLengths(data: Uint8Array, p: ChunkingParams = DEFAULT_CHUNKING): number[] {
  const s = new ChunkStream(p);
  return [...s.push(data), ...s.end()].map((c) => c.length);
}
