import WebSocket from 'ws';
import { decodeEnvelope, type Envelope } from '../rmb/envelope.ts';
import { sendFrame, takeDataFrames, wsDataToBytes } from '../rmb/ws.ts';
import { RelayClientError } from './errors.ts';

/**
 * One WebSocket to one relay: handshake, send, and a typed stream of incoming items.
 * It dies on its first error and never reconnects; peer.ts owns all policy.
 */
export type Incoming =
  | { kind: 'envelope'; envelope: Envelope; bytes: Uint8Array }
  | { kind: 'bad-frame'; reason: string };

export interface DialOptions {
  /** ws:// or wss:// relay URL; the JWT becomes the whole query string. */
  url: string;
  jwt: string;
  signal?: AbortSignal;
  handshakeTimeoutMs?: number;
  maxPayload?: number;
  /** Extra trusted CA certificates (PEM) for wss:// relays with a private CA. */
  ca?: string | Buffer;
}

/** `ws(s)://host/?<jwt>`: the form all RMB clients use. */
export function relayUrlWithJwt(url: string, jwt: string): string {
  const u = new URL(url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new RelayClientError('ERR_HANDSHAKE', `not a ws(s) URL: ${url}`);
  u.search = jwt;
  return u.toString();
}

export class RelayConnection {
  /** Items that arrived before onIncoming(). */
  private queue: Incoming[] = [];
  private handler: ((m: Incoming) => void) | null = null;
  private deadErr: Error | null = null;
  /** Resolves with the reason once the connection is dead (never rejects). */
  readonly dead: Promise<Error>;
  private markDead!: (e: Error) => void;

  private constructor(private readonly ws: WebSocket) {
    this.dead = new Promise((r) => (this.markDead = r));
    takeDataFrames(ws);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return this.push({ kind: 'bad-frame', reason: 'text frame' });
      const bytes = wsDataToBytes(data);
      try {
        this.push({ kind: 'envelope', envelope: decodeEnvelope(bytes), bytes });
      } catch (err) {
        this.push({ kind: 'bad-frame', reason: (err as Error).message });
      }
    });
    ws.on('close', (code, reason) =>
      this.die(new RelayClientError('ERR_CONNECTION', `connection closed (${code}${reason.length ? ` ${reason}` : ''})`)),
    );
    ws.on('error', (err) => this.die(new RelayClientError('ERR_CONNECTION', err.message, { cause: err })));
  }

  static dial(opts: DialOptions): Promise<RelayConnection> {
    const ws = new WebSocket(relayUrlWithJwt(opts.url, opts.jwt), {
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
      maxPayload: opts.maxPayload ?? 64 * 1024 * 1024,
      perMessageDeflate: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        cleanup();
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
      };
      const onAbort = () => fail(new RelayClientError('ERR_CLOSED', 'dial aborted'));
      const onOpen = () => {
        cleanup();
        resolve(new RelayConnection(ws));
      };
      const onError = (err: Error) => fail(new RelayClientError('ERR_HANDSHAKE', err.message, { cause: err }));
      const onResponse = (_req: unknown, res: import('node:http').IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 16 && chunks.push(c));
        res.on('end', () =>
          fail(new RelayClientError('ERR_HANDSHAKE', `relay refused: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').trim()}`)),
        );
        res.on('error', () => fail(new RelayClientError('ERR_HANDSHAKE', `relay refused: ${res.statusCode}`)));
      };
      const cleanup = () => {
        opts.signal?.removeEventListener('abort', onAbort);
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.off('unexpected-response', onResponse);
      };
      if (opts.signal?.aborted) return fail(new RelayClientError('ERR_CLOSED', 'dial aborted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      ws.on('open', onOpen);
      ws.on('error', onError);
      ws.on('unexpected-response', onResponse);
    });
  }

  get isDead(): boolean {
    return this.deadErr !== null;
  }

  /**
   * Hands every incoming item to `fn` as it arrives, in order (those that came before first),
   * until the connection dies (see `dead`): no promise per frame.
   */
  onIncoming(fn: (m: Incoming) => void): void {
    const early = this.queue;
    this.queue = [];
    for (const m of early) fn(m);
    this.handler = fn;
  }

  /**
   * Hands a frame to the socket without waiting for it to be written: false when the connection
   * is dead. A failed write kills the connection (the peer then sends its pending requests again).
   */
  write(bytes: Uint8Array): boolean {
    if (this.deadErr) return false;
    sendFrame(this.ws, bytes, this.written);
    return true;
  }

  /** Every frame's write callback (one function, not a closure per frame). */
  private readonly written = (err?: Error): void => {
    if (err) this.die(new RelayClientError('ERR_CONNECTION', `send failed: ${err.message}`, { cause: err }));
  };

  close(reason = 'closed by peer'): void {
    this.die(new RelayClientError('ERR_CLOSED', reason));
  }

  private push(m: Incoming): void {
    if (this.deadErr) return;
    if (this.handler) this.handler(m);
    else this.queue.push(m);
  }

  private die(err: Error): void {
    if (this.deadErr) return;
    this.deadErr = err;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    this.handler = null;
    this.queue = [];
    this.markDead(err);
  }
}
