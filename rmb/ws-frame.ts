import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * The one WebSocket frame shape RMB's data path uses (RFC 6455 §5.2): a single binary frame,
 * FIN set, no RSV bits, masked from client to server and unmasked the other way. Pure codec,
 * no I/O: rmb/ws.ts reads and writes such frames straight on ws' socket and leaves every other
 * frame (fragments, text, control frames, close, oversize, bad masking) to ws itself.
 */

interface BufferUtil {
  mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  unmask(buffer: Uint8Array, mask: Uint8Array): void;
}

/**
 * bufferutil's native XOR (ws uses it too; test/relay/ws-native checks the addon loads), else
 * JavaScript loops: the OS image's bundle carries no bufferutil (os/stage.ts), and a missing
 * addon must not stop the node from starting. Through require so that bundlers leave it out.
 */
function loadBufferUtil(): BufferUtil | null {
  try {
    return createRequire(import.meta.url)('bufferutil') as BufferUtil;
  } catch {
    return null;
  }
}

const native = loadBufferUtil();

/** Below this many bytes a JavaScript loop beats the call into native code (ws' own cut-over). */
const NATIVE_FROM = 32;

/** A fast frame found at the head of a buffer. */
export interface BinaryFrame {
  /** Payload, unmasked in place (a view into the buffer it was read from). */
  payload: Buffer;
  /** Offset just past the frame. */
  end: number;
}

/** What the head of a buffer holds: a complete fast frame, too few bytes yet, or another frame. */
export type FrameHead = BinaryFrame | 'partial' | 'other';

/**
 * Reads the frame at `off`. `masked` is the masking its sender must use (true where we are the
 * server); `maxPayload` 0 means no bound. A complete FIN+binary frame masked as required and within
 * the bound is unmasked in place and returned; 'partial' when the fast frame's bytes are not all
 * here (at most `maxPartial` payload bytes are worth waiting for here, a longer one is 'other');
 * 'other' for anything else, which ws must judge.
 */
export function readBinaryFrame(buf: Buffer, off: number, masked: boolean, maxPayload: number, maxPartial: number): FrameHead {
  const left = buf.length - off;
  if (left < 2) return 'partial';
  const b0 = buf[off]!;
  const b1 = buf[off + 1]!;
  if (b0 !== 0x82 || (b1 & 0x80) !== (masked ? 0x80 : 0)) return 'other';
  let len = b1 & 0x7f;
  let at = off + 2;
  if (len === 126) {
    if (left < 4) return 'partial';
    len = buf.readUInt16BE(at);
    at += 2;
  } else if (len === 127) {
    // 64-bit lengths are for frames far past any bound we accept: ws judges them.
    return 'other';
  }
  if (maxPayload > 0 && len > maxPayload) return 'other';
  const start = at + (masked ? 4 : 0);
  const end = start + len;
  if (end > buf.length) return len <= maxPartial ? 'partial' : 'other';
  const payload = buf.subarray(start, end);
  if (masked) {
    const key = buf.subarray(at, at + 4);
    if (native && len >= NATIVE_FROM) native.unmask(payload, key);
    else for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
  }
  return { payload, end };
}

/** The largest payload a 16-bit length carries; larger frames are left to ws' sender. */
export const MAX_FAST_PAYLOAD = 0xffff;

const POOL_SIZE = 8 * 1024;
let pool: Buffer | undefined;
let poolAt = POOL_SIZE;

/** Four unpredictable bytes per frame (RFC 6455 §5.3), drawn from a refilled random pool as ws does. */
function maskKey(): Buffer {
  if (poolAt === POOL_SIZE) {
    pool ??= Buffer.alloc(POOL_SIZE);
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += 4;
  return pool!.subarray(poolAt - 4, poolAt);
}

/**
 * One FIN+binary frame holding `payload` (at most MAX_FAST_PAYLOAD bytes) in one buffer: header,
 * mask key and masked payload when `mask` (a client's frame), else header and payload.
 */
export function binaryFrame(payload: Uint8Array, mask: boolean): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : 4;
  const start = head + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(start + len);
  out[0] = 0x82;
  out[1] = (mask ? 0x80 : 0) | (len < 126 ? len : 126);
  if (len >= 126) out.writeUInt16BE(len, 2);
  if (!mask) {
    out.set(payload, start);
    return out;
  }
  const key = maskKey();
  out.set(key, head);
  if (native && len >= NATIVE_FROM) native.mask(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, len), key, out, start, len);
  else for (let i = 0; i < len; i++) out[start + i] = payload[i]! ^ key[i & 3]!;
  return out;
}
