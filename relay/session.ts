import type WebSocket from 'ws';
import { sendFrame, wsDataToBytes } from '../rmb/ws.ts';
import { addressKey, type Address } from '../rmb/envelope.ts';

/**
 * One authenticated WebSocket, shaped like derpserver's client: frames are handed to the
 * read handler one at a time (in order), and outgoing frames sit in a bounded queue that
 * drops the oldest entry when full. `ack` runs once a frame is handed to the socket, which is
 * when a stored copy may be deleted.
 */
export interface Outgoing {
  bytes: Uint8Array;
  ack?: () => void;
}

export interface SessionHooks {
  /** Handled at once when it returns nothing; the next frame waits for a promise it returns. */
  onFrame(session: Session, bytes: Uint8Array): void | Promise<void>;
  onProtocolError(session: Session, reason: string): void;
  onDrop(session: Session, reason: 'send_queue_full'): void;
  onClose(session: Session): void;
}

export const SEND_QUEUE_CAP = 256;
const INBOX_PAUSE = 64;
const SOCKET_HIGH_WATER = 1 << 20;

export class Session {
  readonly key: string;
  private readonly out: Outgoing[] = [];
  private readonly inbox: Uint8Array[] = [];
  private reading = false;
  private paused = false;
  private closed = false;
  private roomWaiters: (() => void)[] = [];
  /** When the socket last took a frame while more were waiting (for slow-reader eviction). */
  private lastProgress = Date.now();
  /** False while stored backlog is still being replayed; live traffic then goes via the store. */
  backlogDone = false;

  constructor(
    readonly address: Address,
    private readonly ws: WebSocket,
    private readonly hooks: SessionHooks,
    readonly sendQueueCap = SEND_QUEUE_CAP,
  ) {
    this.key = addressKey(address);
    ws.on('message', (data, isBinary) => {
      if (this.closed) return;
      if (!isBinary) return this.hooks.onProtocolError(this, 'text frame');
      this.inbox.push(wsDataToBytes(data));
      if (this.inbox.length >= INBOX_PAUSE && !this.paused) {
        this.paused = true;
        ws.pause();
      }
      this.readLoop();
    });
    ws.on('close', () => this.shutdown());
    ws.on('error', () => this.shutdown());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Milliseconds frames have been waiting without the socket taking any; 0 when not backlogged. */
  stalledFor(now: number): number {
    return this.backlogged ? now - this.lastProgress : 0;
  }

  private get backlogged(): boolean {
    return this.out.length > 0 || this.ws.bufferedAmount >= SOCKET_HIGH_WATER;
  }

  /** Free places in the send queue. */
  get room(): number {
    return Math.max(0, this.sendQueueCap - this.out.length);
  }

  /** Queues a frame; when full, the oldest queued frame is dropped (and counted). */
  enqueue(item: Outgoing): void {
    if (this.closed) return;
    // An idle socket starts its stall clock now, not at its last write.
    if (!this.backlogged) this.lastProgress = Date.now();
    this.out.push(item);
    if (this.out.length > this.sendQueueCap) {
      this.out.shift();
      this.hooks.onDrop(this, 'send_queue_full');
    }
    this.pump();
  }

  /** Resolves when the queue has room for `n` more frames (or the session closed). */
  waitRoom(n: number): Promise<void> {
    if (this.closed || this.out.length + Math.min(n, this.sendQueueCap) <= this.sendQueueCap) return Promise.resolve();
    return new Promise((r) => this.roomWaiters.push(r));
  }

  /** Frames not yet handed to the socket that have no stored copy. */
  takeUnstored(): Uint8Array[] {
    const rest = this.out.filter((o) => !o.ack).map((o) => o.bytes);
    this.out.length = 0;
    return rest;
  }

  /** Waits (bounded) until queued frames are written. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && (this.out.length > 0 || this.ws.bufferedAmount > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    this.shutdown();
  }

  terminate(): void {
    this.ws.terminate();
    this.shutdown();
  }

  private pump(): void {
    while (!this.closed && this.out.length > 0 && this.ws.bufferedAmount < SOCKET_HIGH_WATER) {
      const item = this.out.shift()!;
      const ack = item.ack;
      sendFrame(this.ws, item.bytes, ack ? (err) => this.written(err, ack) : this.writtenLive);
    }
    if (this.out.length < this.sendQueueCap && this.roomWaiters.length > 0) {
      const w = this.roomWaiters;
      this.roomWaiters = [];
      for (const r of w) r();
    }
  }

  /** A frame handed to the socket: `ack` deletes its stored copy. */
  private written(err: Error | undefined, ack?: () => void): void {
    if (err) return this.shutdown();
    this.lastProgress = Date.now();
    ack?.();
    this.pump();
  }

  /** The write callback of frames with no stored copy (live delivery): one function, not a closure per frame. */
  private readonly writtenLive = (err?: Error): void => this.written(err);

  /** Frames in order, one at a time; without a promise in between where a frame was handled at once. */
  private readLoop(): void {
    if (this.reading) return;
    this.reading = true;
    while (!this.closed && this.inbox.length > 0) {
      const handled = this.hooks.onFrame(this, this.inbox.shift()!);
      if (this.paused && this.inbox.length < INBOX_PAUSE / 2) {
        this.paused = false;
        this.ws.resume();
      }
      if (handled instanceof Promise) {
        void handled.then(() => {
          this.reading = false;
          this.readLoop();
        });
        return;
      }
    }
    this.reading = false;
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbox.length = 0;
    for (const r of this.roomWaiters) r();
    this.roomWaiters = [];
    this.hooks.onClose(this);
    // A session that ends while its socket is still open (a failed write, an error ws did not
    // close on) must not leave it open: its peer would stay connected, unregistered, while
    // everything sent to it went to the queue. Closed now, the peer redials and is served again.
    if (this.ws.readyState === this.ws.OPEN) this.ws.terminate();
  }
}
