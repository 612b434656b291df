import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Logger } from '../../../lib/log.ts';
import { Backoff } from '../../../lib/backoff.ts';
import { readFrom } from './console.ts';
import { fileSize } from './procs.ts';

/**
 * Follows a VM's console log and streams new chunks to a URL, outbound only, like zos'
 * tailstream: `ws(s)://…` sends each chunk as a message; `redis://[user][:pass@]host[:port][/db]/channel`
 * PUBLISHes each chunk to `channel`. It starts with the log's last 8 KiB, survives log rotation,
 * reconnects with backoff, and while disconnected keeps at most 1 MiB (oldest dropped).
 */
const START_TAIL = 8 << 10;
const MAX_PENDING = 1 << 20;

interface Sink {
  send(chunk: string): Promise<void>;
  close(): void;
}

export function parseRedisOutput(url: string): { host: string; port: number; db: number; channel: string; username?: string; password?: string } {
  const u = new URL(url);
  const parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const channel = parts.pop();
  if (!channel) throw new Error(`redis output ${url} names no channel: redis://host[:port][/db]/channel`);
  const db = parts.length ? Number(parts[0]) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`redis output ${url}: bad db '${parts[0]}'`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379), db, channel,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}), ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

function redisSink(url: string): Sink {
  const o = parseRedisOutput(url);
  // ioredis (~8 MB resident) loads with a VM's first redis output, not with every node.
  let redis: Promise<Redis> | null = null;
  const client = () =>
    (redis ??= import('ioredis').then(({ Redis }) => {
      const r = new Redis({ host: o.host, port: o.port, db: o.db, username: o.username, password: o.password, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n) => Math.min(n * 500, 10_000) });
      r.on('error', () => undefined);
      return r;
    }));
  return {
    async send(chunk) {
      const r = await client();
      if (r.status === 'wait') await r.connect();
      await r.publish(o.channel, chunk);
    },
    close: () => void redis?.then((r) => r.disconnect()),
  };
}

function wsSink(url: string): Sink {
  let ws: WebSocket | undefined;
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(url, { handshakeTimeout: 10_000 });
      s.once('open', () => resolve(s));
      s.once('error', reject);
      s.on('close', () => ws === s && (ws = undefined));
      s.on('error', () => undefined);
    });
  return {
    async send(chunk) {
      ws ??= await open();
      await new Promise<void>((resolve, reject) => ws!.send(chunk, (err) => (err ? reject(err) : resolve())));
    },
    close: () => ws?.close(),
  };
}

export class LogStream {
  private offset = -1;
  private pending = '';
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
  private retryAt = 0;
  private readonly sink: Sink;

  constructor(
    private readonly file: string,
    readonly output: string,
    private readonly log: Logger,
    private readonly everyMs = 500,
  ) {
    const scheme = new URL(output).protocol;
    this.sink = scheme === 'redis:' ? redisSink(output) : wsSink(output);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.everyMs);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sink.close();
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const size = await fileSize(this.file);
      if (this.offset < 0) this.offset = Math.max(0, size - START_TAIL);
      if (size < this.offset) this.offset = 0; // rotated
      if (size > this.offset) {
        const text = await readFrom(this.file, this.offset, size - this.offset);
        this.offset += Buffer.byteLength(text);
        this.pending = (this.pending + text).slice(-MAX_PENDING);
      }
      if (!this.pending || Date.now() < this.retryAt) return;
      const chunk = this.pending;
      await this.sink.send(chunk);
      this.pending = this.pending.slice(chunk.length);
      this.backoff.reset();
    } catch (err) {
      const wait = this.backoff.next();
      this.retryAt = Date.now() + wait;
      this.log.debug({ output: this.output, err: (err as Error).message, retryMs: wait }, 'log stream send failed');
    } finally {
      this.busy = false;
    }
  }
}
