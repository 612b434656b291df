import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { type Clock, systemClock } from '../lib/clock.ts';
import { type Logger, silentLogger } from '../lib/log.ts';
import { bounded } from '../lib/bounded.ts';
import { RateLimitedLog } from '../lib/ratelog.ts';
import { addressKey, type Address } from '../rmb/envelope.ts';
import { takeDataFrames } from '../rmb/ws.ts';
import type { TwinDirectory } from '../rmb/twins.ts';
import { authenticate } from './auth.ts';
import { RelayError, RelayWireError } from './errors.ts';
import { Federator } from './federation.ts';
import { DEFAULT_LIMITS, KeyedRate, type RelayLimits } from './limits.ts';
import { RelayMetrics } from './metrics.ts';
import { TwinRateLimiter, type RateLimit } from './ratelimit.ts';
import { RedisStore } from './redis-store.ts';
import { Session, SEND_QUEUE_CAP, type SessionHooks } from './session.ts';
import { SqliteStore } from './sqlite-store.ts';
import { MemoryStore, type QueueStore } from './store.ts';
import { Switch } from './switch.ts';

/**
 * The RMB relay: WebSocket sessions authenticated by JWT, `POST /` federation ingest and
 * `GET /metrics`, on one HTTP(S) port. Queues live in memory, in SQLite (`dataDir`) or in
 * Redis streams (`redisUrl`, shared by several relay processes).
 */
export interface RelayServerOptions {
  twins: TwinDirectory;
  /** This relay's public hostnames (with port when not the default); matched against twins' `relay`. */
  domains: string[];
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  dataDir?: string;
  redisUrl?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  limit?: RateLimit;
  /** Resource bounds; each unset field takes its DEFAULT_LIMITS value. */
  limits?: Partial<RelayLimits>;
  /** Largest accepted frame / federation body; default 1 MiB. */
  maxMessageSize?: number;
  sendQueueCap?: number;
  /** Where to POST federated envelopes; default https://<domain>/. */
  federationUrl?: (domain: string) => string;
  clock?: Clock;
  log?: Logger;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 1 << 20;

export class RelayServer {
  readonly metrics = new RelayMetrics();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly rlog: RateLimitedLog;
  private readonly maxSize: number;
  private readonly store: QueueStore;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly federator: Federator;
  private readonly switch: Switch;
  private readonly limits: RelayLimits;
  private readonly upgrades: KeyedRate;
  private readonly federationRate: KeyedRate;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private lastQueueSweep = 0;
  private readonly sockets = new Set<Socket>();
  private readonly abort = new AbortController();
  private watchLoop: Promise<void> | null = null;
  private state: 'new' | 'running' | 'closed' = 'new';
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: RelayServerOptions) {
    if (opts.domains.length === 0) throw new RelayError('ERR_CONFIG', 'at least one --domain is required');
    if (opts.dataDir && opts.redisUrl) throw new RelayError('ERR_CONFIG', '--data-dir and --redis are exclusive');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger();
    this.rlog = new RateLimitedLog(this.log, { clock: this.clock });
    this.maxSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.upgrades = new KeyedRate(this.limits.upgradesPerMinute, this.clock);
    this.federationRate = new KeyedRate(this.limits.federationPerMinute, this.clock);
    this.store = opts.redisUrl
      ? new RedisStore(opts.redisUrl, this.limits)
      : opts.dataDir
        ? new SqliteStore(opts.dataDir, this.clock, this.limits)
        : new MemoryStore(this.clock, this.limits);
    this.federator = new Federator({
      clock: this.clock,
      log: this.log,
      rlog: this.rlog,
      metrics: this.metrics,
      urlFor: opts.federationUrl,
      limits: this.limits,
      onReject: (env, message) => this.switch.rejectFederated(env, message),
    });
    this.switch = new Switch({
      twins: opts.twins,
      store: this.store,
      domains: new Set(opts.domains),
      federator: this.federator,
      metrics: this.metrics,
      clock: this.clock,
      log: this.log,
      rlog: this.rlog,
      limiter: opts.limit ? new TwinRateLimiter(opts.limit, this.clock) : undefined,
    });
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.onHttp(req, res);
    this.http = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => void this.onUpgrade(req, socket, head));
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.http.on('clientError', (_err, socket) => socket.destroy());
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxSize, perMessageDeflate: false });
  }

  /** Listens; resolves to the ws(s):// URL. */
  async start(): Promise<string> {
    if (this.state !== 'new') throw new RelayError('ERR_CLOSED', `relay is ${this.state}`);
    this.state = 'running';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    if (this.store.shared) this.watchLoop = this.watch(this.abort.signal);
    this.sweeper = setInterval(() => void this.sweep(), Math.min(5_000, Math.max(100, this.limits.slowReaderMs / 4)));
    this.sweeper.unref();
    return this.url;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The listening address, e.g. ws://127.0.0.1:8080 (for URLs and the twin relay field use `host:port`). */
  get url(): string {
    const a = this.http.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.opts.tls ? 'wss' : 'ws'}://${host}:${a.port}`;
  }

  get sessionCount(): number {
    return this.switch.sessions.size;
  }

  /**
   * Idempotent. Stops accepting, lets send queues drain (bounded), stores frames that were not
   * yet written (so a persistent store keeps them), closes sockets and the store.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      if (this.sweeper) clearInterval(this.sweeper);
      this.abort.abort();
      this.http.close();
      await this.federator.close();
      const sessions = [...this.switch.sessions.values()];
      await Promise.all(sessions.map((s) => s.flush(2_000)));
      for (const s of sessions) {
        for (const bytes of s.takeUnstored()) await this.store.append(s.key, bytes).catch(() => undefined);
        s.close(1001, 'relay shutting down');
      }
      await bounded(this.switch.idle(), 2_000);
      for (const ws of this.wss.clients) ws.terminate();
      this.wss.close();
      await this.watchLoop;
      await this.store.close();
      for (const s of this.sockets) s.destroy();
    })();
    return this.closing;
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.metrics.render());
      return;
    }
    if (req.method === 'POST' && path === '/') {
      if (!this.federationRate.take(req.socket.remoteAddress ?? '')) {
        this.metrics.drops.inc({ reason: 'federation_rate_limited' });
        res.writeHead(429, { 'content-type': 'text/plain', connection: 'close' }).end(RelayWireError.rateLimited);
        return;
      }
      const body = await readBody(req, this.maxSize);
      if (!body) {
        this.metrics.drops.inc({ reason: 'federation_too_large' });
        res.writeHead(413, { connection: 'close' }).end('message too large');
        return;
      }
      if (this.state !== 'running') {
        res.writeHead(503).end('relay shutting down');
        return;
      }
      const { status, body: text } = await this.switch.ingest(body);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  private async onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    // Before the JWT: its twin lookup is what a flood of made-up subjects would make expensive.
    if (!this.upgrades.take(socket.remoteAddress ?? '')) {
      this.metrics.connections.inc({ result: 'rate_limited' });
      return rejectUpgrade(socket, 429, 'too many connection attempts');
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const nowS = Math.floor(this.clock.now() / 1000);
    const auth = await authenticate(q < 0 ? null : url.slice(q + 1), this.opts.twins, nowS, this.limits.jwtMaxLifetimeS);
    if (!auth.ok) {
      this.metrics.connections.inc({ result: auth.reason });
      this.rlog.warn('auth', { status: auth.status, why: auth.body }, 'relay connection refused');
      return rejectUpgrade(socket, auth.status, auth.body);
    }
    if (this.state !== 'running') return rejectUpgrade(socket, 503, 'relay shutting down');
    const full = this.sessionLimit(auth.address);
    if (full) {
      this.metrics.connections.inc({ result: full.reason });
      return rejectUpgrade(socket, full.status, full.body);
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.metrics.connections.inc({ result: 'ok' });
      takeDataFrames(ws);
      const session = new Session(auth.address, ws, this.hooks, this.opts.sendQueueCap ?? SEND_QUEUE_CAP);
      this.switch.register(session);
    });
  }

  /** Why one more session for `address` is refused; a reconnect of an existing session always passes. */
  private sessionLimit(address: Address): { status: number; body: string; reason: string } | null {
    if (this.switch.sessions.has(addressKey(address))) return null;
    if (this.switch.sessions.size >= this.limits.maxSessions) {
      return { status: 503, body: 'relay is at its session capacity', reason: 'relay_full' };
    }
    if (this.switch.twinSessions(address.twin) >= this.limits.sessionsPerTwin) {
      return { status: 429, body: `too many sessions for twin ${address.twin}`, reason: 'twin_sessions' };
    }
    return null;
  }

  /**
   * Runs every few seconds (public so tests need not wait): evicts sessions that stopped reading
   * and, once a minute, deletes expired queued messages whether or not anyone reads them.
   */
  async sweep(force = false): Promise<void> {
    const now = Date.now();
    for (const s of this.switch.sessions.values()) {
      if (s.stalledFor(now) > this.limits.slowReaderMs) {
        this.metrics.drops.inc({ reason: 'slow_reader' });
        this.rlog.warn('slow_reader', { session: s.key }, 'evicting a session that stopped reading');
        s.terminate();
      }
    }
    const bytes = this.store.storedBytes();
    if (bytes !== null) this.metrics.queueBytes.set({}, bytes);
    if (!force && now - this.lastQueueSweep < 60_000) return;
    this.lastQueueSweep = now;
    try {
      const gone = await this.store.sweep();
      if (gone > 0) this.metrics.drops.inc({ reason: 'expired' }, gone);
      const left = this.store.storedBytes();
      if (left !== null) this.metrics.queueBytes.set({}, left);
    } catch (err) {
      this.rlog.warn('store_sweep', { err: (err as Error).message }, 'queue sweep failed');
    }
  }

  private readonly hooks: SessionHooks = {
    onFrame: (s, bytes) => {
      const routed = this.switch.route(s, bytes);
      if (routed instanceof Promise) return routed.then((ok) => void (ok || this.hooks.onProtocolError(s, 'invalid envelope')));
      if (!routed) this.hooks.onProtocolError(s, 'invalid envelope');
    },
    onProtocolError: (s, reason) => {
      this.metrics.drops.inc({ reason: reason === 'text frame' ? 'text_frame' : 'bad_frame' });
      this.rlog.warn('protocol', { session: s.key, why: reason }, 'disconnecting session');
      s.close(reason === 'text frame' ? 1003 : 1007, reason);
    },
    onDrop: (_s, reason) => this.metrics.drops.inc({ reason }),
    onClose: (s) => this.switch.unregister(s),
  };

  /** Shared stores only: deliver what other relay processes queued for our sessions. */
  private async watch(signal: AbortSignal): Promise<void> {
    const store = this.store;
    while (!signal.aborted) {
      const cursors = this.switch.watchCursors();
      if (cursors.size === 0) {
        await this.clock.sleep(100, signal).catch(() => undefined);
        continue;
      }
      try {
        const got = await store.watch!(cursors, 1_000);
        for (const [key, msgs] of got) this.switch.deliverWatched(key, msgs);
      } catch (err) {
        if (signal.aborted) return;
        this.rlog.warn('watch', { err: (err as Error).message }, 'queue watch failed');
        await this.clock.sleep(500, signal).catch(() => undefined);
      }
    }
  }
}

function rejectUpgrade(socket: Socket, status: number, body: string): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }[status] ?? 'Error';
  const text = Buffer.from(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The request body, or null when it exceeds `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit, keep reading (and discarding) so the 413 can still be sent.
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? null : new Uint8Array(Buffer.concat(chunks))));
    req.on('error', () => resolve(null));
  });
}
