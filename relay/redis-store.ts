import { Redis } from 'ioredis';
import { QUEUE_CAP, QUEUE_TTL_MS, type QueueStore, type StoredMessage } from './store.ts';

/**
 * Queues as Redis streams, shared by several relay processes (reference §6): key
 * `stream:<twin>[:<sid>]`, `XADD … MAXLEN ~ 10000 * _ <bytes>` + `EXPIRE 3600`, readers
 * `XREAD COUNT 100 BLOCK …` from their cursor, `XDEL` once written to the socket.
 */
export class RedisStore implements QueueStore {
  readonly shared = true;
  private readonly cmd: Redis;
  /** Blocking XREAD needs its own connection. */
  private readonly blocking: Redis;

  constructor(url: string) {
    this.cmd = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
    this.blocking = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
    // Errors surface on the commands; keep ioredis from printing unhandled 'error' events.
    this.cmd.on('error', () => undefined);
    this.blocking.on('error', () => undefined);
  }

  static streamKey(key: string): string {
    return `stream:${key}`;
  }

  async append(key: string, bytes: Uint8Array): Promise<void> {
    const k = RedisStore.streamKey(key);
    await this.cmd
      .multi()
      .xadd(k, 'MAXLEN', '~', QUEUE_CAP, '*', '_', Buffer.from(bytes))
      .expire(k, QUEUE_TTL_MS / 1000)
      .exec();
  }

  async read(key: string, after: string | null, count: number): Promise<StoredMessage[]> {
    const start = after === null ? '-' : `(${after}`;
    const rows = await this.cmd.xrangeBuffer(RedisStore.streamKey(key), start, '+', 'COUNT', count);
    return rows.map(([id, fields]) => ({ id: id.toString(), bytes: fieldBytes(fields) }));
  }

  async remove(key: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.cmd.xdel(RedisStore.streamKey(key), ...ids);
  }

  async watch(cursors: Map<string, string>, blockMs: number): Promise<Map<string, StoredMessage[]>> {
    const out = new Map<string, StoredMessage[]>();
    if (cursors.size === 0) return out;
    const keys = [...cursors.keys()];
    const res = await this.blocking.xreadBuffer(
      'COUNT', 100, 'BLOCK', blockMs, 'STREAMS',
      ...keys.map(RedisStore.streamKey), ...keys.map((k) => cursors.get(k)!),
    );
    for (const [stream, entries] of res ?? []) {
      const key = stream.toString().slice('stream:'.length);
      out.set(key, entries.map(([id, fields]) => ({ id: id.toString(), bytes: fieldBytes(fields) })));
    }
    return out;
  }

  async close(): Promise<void> {
    this.blocking.disconnect();
    await this.cmd.quit().catch(() => undefined);
  }
}

function fieldBytes(fields: Buffer[]): Uint8Array {
  const i = fields.findIndex((f) => f.toString() === '_');
  return new Uint8Array(fields[i + 1] ?? Buffer.alloc(0));
}
