import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { binaryFrame, MAX_FAST_PAYLOAD, readBinaryFrame } from './ws-frame.ts';

/** A ws 'message' payload as one Uint8Array view. */
export function wsDataToBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The parts of ws 8's WebSocket that the data-frame path reads (not in its types). They are
 * private and may change in any release, so package.json pins ws exactly: an upgrade is a
 * deliberate step with test/relay/ws-fast-frames run (it asserts the socket is taken, and a
 * takeDataFrames that silently falls back to ws would only show as a slower bench/relay.ts).
 */
interface WsInternals {
  _socket?: Socket | null;
  _isServer: boolean;
  _extensions: Record<string, unknown>;
  _closeFrameReceived: boolean;
  _receiver?: { _state: number; _bufferedBytes: number; _fragmented: number; _maxPayload: number; _writableState: { errorEmitted: boolean } } | null;
  _sender?: { _state: number; _queue: unknown[]; _firstFragment: boolean } | null;
}

/** Sockets whose data frames we read and write ourselves (takeDataFrames). */
const taken = new WeakSet<WebSocket>();

/**
 * Reads data frames off an open ws WebSocket's socket ourselves. ws' Receiver is a Writable
 * stream that takes each chunk through stream bookkeeping, a state machine per header field and
 * a deferred write callback, and its Sender builds a header beside each payload: per hop that
 * was several µs of a round trip of ~0.5 ms at one in flight (bench/parts/ws-hop.ts). Here a
 * chunk's complete FIN+binary frames, masked as RFC 6455 requires of the sender's side and within
 * ws' maxPayload, are unmasked in place and emitted as ws' own 'message' (Buffer, isBinary true),
 * and sendFrame writes such frames in one buffer. From the first frame of any other kind on (a
 * fragment, text, ping, pong, close, a frame over the bound or masked wrongly), the chunk goes to
 * ws' own reader, which applies every rule and close code as before; while ws holds part of a
 * frame or message, later chunks go to it too, and we take over again once it is between frames.
 * False (ws keeps everything) where ws' internals are not as this expects, or an extension is on.
 */
export function takeDataFrames(ws: WebSocket): boolean {
  const w = ws as unknown as WsInternals;
  const socket = w._socket;
  const receiver = w._receiver;
  const sender = w._sender;
  if (!socket || !receiver || !sender || taken.has(ws)) return false;
  if (ws.readyState !== WebSocket.OPEN || ws.binaryType !== 'nodebuffer' || Object.keys(w._extensions).length > 0) return false;
  const wsOnData = socket.listeners('data').find((f) => f.name === 'socketOnData') as ((this: Socket, chunk: Buffer) => void) | undefined;
  if (!wsOnData || typeof receiver._state !== 'number' || typeof receiver._maxPayload !== 'number') return false;
  const masked = w._isServer;
  const maxPayload = receiver._maxPayload;
  /** The head of a fast frame whose rest has not arrived yet. */
  let partial: Buffer | null = null;
  const onData = (data: Buffer): void => {
    // ws stops reading after a close frame or a protocol error (it unhooks its own listener).
    if (w._closeFrameReceived || receiver._writableState.errorEmitted) return;
    let chunk = data;
    if (partial) {
      chunk = Buffer.concat([partial, data]);
      partial = null;
    } else if (receiver._state !== 0 || receiver._bufferedBytes !== 0 || receiver._fragmented !== 0) {
      return wsOnData.call(socket, chunk);
    }
    let off = 0;
    while (off < chunk.length) {
      const f = readBinaryFrame(chunk, off, masked, maxPayload, MAX_FAST_PAYLOAD);
      if (f === 'other') return wsOnData.call(socket, off === 0 ? chunk : chunk.subarray(off));
      if (f === 'partial') {
        partial = chunk.subarray(off);
        return;
      }
      off = f.end;
      ws.emit('message', f.payload, true);
    }
  };
  socket.removeListener('data', wsOnData);
  socket.on('data', onData);
  readDirect(socket, onData);
  taken.add(ws);
  return true;
}

/** Node's read callback on a socket's handle (`_handle.onread`, not in its types). */
type OnRead = (this: unknown, chunk: ArrayBuffer | undefined) => unknown;

/**
 * Hands the chunks Node reads off `socket` straight to `onData` while the socket flows with
 * nothing buffered, as its 'data' listener would get them, without the stream in between:
 * Node's `onStreamRead` pushes every chunk through the socket's Readable (symbol-keyed
 * properties that every stream in the process shares, so their loads are megamorphic) and
 * schedules a maybeReadMore tick, ~1.5 µs a hop of a round trip (bench/relay.ts, A/B). Anything
 * else (end of stream or an error, a paused socket or chunks it buffered, a timeout set on it)
 * goes through Node's own callback, which keeps the order and every rule as before. Node hands
 * the callback a fresh ArrayBuffer of exactly the bytes read (stream_base's
 * EmitToJSStreamListener); the handle's callback is left alone where it is not Node's.
 */
function readDirect(socket: Socket, onData: (chunk: Buffer) => void): void {
  const handle = (socket as unknown as { _handle?: { onread?: OnRead } | null })._handle;
  const nodeOnRead = handle?.onread;
  if (!handle || nodeOnRead?.name !== 'onStreamRead') return;
  handle.onread = function readTaken(this: unknown, chunk) {
    if (chunk instanceof ArrayBuffer && chunk.byteLength > 0 && socket.readableFlowing === true && socket.readableLength === 0 && !socket.destroyed && !socket.timeout) {
      onData(Buffer.from(chunk));
      return undefined;
    }
    return nodeOnRead.call(this, chunk);
  };
}

/** Writes one frame ourselves where takeDataFrames took the socket and ws' sender is between frames. */
function writeTaken(ws: WebSocket, bytes: Uint8Array, cb: (err?: Error) => void): boolean {
  if (!taken.has(ws) || ws.readyState !== WebSocket.OPEN || bytes.length > MAX_FAST_PAYLOAD) return false;
  const w = ws as unknown as WsInternals;
  const sender = w._sender!;
  if (sender._state !== 0 || sender._queue.length > 0 || !sender._firstFragment) return false;
  // Node calls it with null on success, as for ws.send (which hands it to the same write).
  w._socket!.write(binaryFrame(bytes, !w._isServer), cb as (err?: Error | null) => void);
  return true;
}

/** Where a socket is in its current turn (see sendFrame). */
const enum Turn {
  /** Nothing sent since the last turn ended. */
  Idle,
  /** One frame written at once; the turn ends with the current callback (process.nextTick). */
  Lone,
  /** Corked: frames wait for the end of the event loop's iteration (setImmediate), then leave in one write. */
  Corked,
}

interface TurnState {
  turn: Turn;
  /** performance.now() when the socket's last turn wrote its first frame (after the write). */
  wrote: number;
}

const turns = new WeakMap<object, TurnState>();

/**
 * A turn that begins within this of the last one's write is a burst: frames fed to one socket
 * from several callbacks of one loop iteration (a relay forwarding from many sessions to one
 * node), which then leave together once the iteration ends. Timed from the end of the write, as
 * a write system call alone takes tens of µs on a loaded VM. One RMB round trip takes at least
 * ~0.3 ms of signatures, so frames at one in flight are far apart.
 */
const BURST_MS = 0.1;

/**
 * Sends one binary frame. The first frame a socket sends in a turn is written at once: a lone
 * frame (a round trip at one in flight) then waits for nothing, where waiting for the end of the
 * turn cost about 10 µs a hop. Further frames to the same socket in the same callback are
 * corked and leave together in one system call once the event loop's iteration ends
 * (setImmediate): under load a peer or the relay sends many frames per turn, and a write per
 * frame was about a fifth of their CPU. A lone frame's turn ends with its callback
 * (process.nextTick), not with the iteration: the setImmediate that ended every turn, four a
 * round trip at one in flight, cost ~7 µs of it (1.6 µs an Immediate, in-process A/B); a turn
 * that begins within BURST_MS of the last is corked at once, as the iteration's end batches
 * frames from the several callbacks of a burst. The socket is ws' own (`_socket`, not in its types).
 */
export function sendFrame(ws: WebSocket, bytes: Uint8Array, cb: (err?: Error) => void): void {
  const socket = (ws as unknown as WsInternals)._socket;
  let t: TurnState | undefined;
  let burst = false;
  if (socket) {
    t = turns.get(socket);
    if (t === undefined) turns.set(socket, (t = { turn: Turn.Idle, wrote: -Infinity }));
    if (t.turn === Turn.Idle) {
      burst = performance.now() - t.wrote < BURST_MS;
      if (!burst) {
        t.turn = Turn.Lone;
        process.nextTick(endLone, t);
      }
    } else {
      if (t.turn === Turn.Lone) corkTurn(socket, t);
      t = undefined;
    }
  }
  if (!writeTaken(ws, bytes, cb)) ws.send(bytes, { binary: true }, cb);
  if (t === undefined) return;
  // The turn's first frame went out at once; in a burst what follows in this iteration waits for its end.
  t.wrote = performance.now();
  if (burst) corkTurn(socket!, t);
}

function endLone(t: TurnState): void {
  if (t.turn === Turn.Lone) t.turn = Turn.Idle;
}

/** Corks `socket` until the event loop's iteration ends. */
function corkTurn(socket: Socket, t: TurnState): void {
  t.turn = Turn.Corked;
  socket.cork();
  setImmediate(() => {
    socket.uncork();
    t.turn = Turn.Idle;
  });
}
