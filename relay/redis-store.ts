import { Redis } from 'ioredis';
import { DEFAULT_LIMITS, QueueFullError, type RelayLimits } from './limits.ts';
import { QUEUE_CAP, QUEUE_TTL_MS, type QueueStore, type StoredMessage } from './store.ts';

/**
 * Per-queue bytes live in a counter key next to each stream (`bytes:<key>`, same TTL), updated
 * atomically with XADD/XDEL. MAXLEN trimming is not subtracted, so the counter can only
 * overstate; it is reset when the stream is empty.
 */
const APPEND = `
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', '_', ARGV[1])
redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1`;
const REMOVE = `
local freed = 0
for _, id in ipairs(ARGV) do
  local e = redis.call('XRANGE', KEYS[1], id, id)
  if e[1] then freed = freed + string.len(e[1][2][2]) end
  redis.call('XDEL', KEYS[1], id)
end
if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2])
elseif freed > 0 then redis.call('DECRBY', KEYS[2], freed) end
return freed`;

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
  /** Redis used_memory, sampled at most once a second for the total bound. */
  private memory = { at: 0, bytes: 0 };

  constructor(
    url: string,
    private readonly limits: Pick<RelayLimits, 'queueBytes' | 'totalQueueBytes'> = DEFAULT_LIMITS,
  ) {
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
    if ((await this.usedMemory()) + bytes.length > this.limits.totalQueueBytes) throw new QueueFullError('total');
    const ok = await this.cmd.eval(
      APPEND, 2, RedisStore.streamKey(key), `bytes:${key}`,
      Buffer.from(bytes), bytes.length, this.limits.queueBytes, QUEUE_CAP, QUEUE_TTL_MS / 1000,
    );
    if (ok !== 1) throw new QueueFullError('queue');
  }

  async read(key: string, after: string | null, count: number): Promise<StoredMessage[]> {
    const start = after === null ? '-' : `(${after}`;
    const rows = await this.cmd.xrangeBuffer(RedisStore.streamKey(key), start, '+', 'COUNT', count);
    return rows.map(([id, fields]) => ({ id: id.toString(), bytes: fieldBytes(fields) }));
  }

  async remove(key: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.cmd.eval(REMOVE, 2, RedisStore.streamKey(key), `bytes:${key}`, ...ids);
  }

  /** Streams expire on their own (EXPIRE after the last append). */
  async sweep(): Promise<number> {
    return 0;
  }

  storedBytes(): null {
    return null;
  }

  private async usedMemory(): Promise<number> {
    if (Date.now() - this.memory.at > 1_000) {
      const info = await this.cmd.info('memory');
      this.memory = { at: Date.now(), bytes: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) };
    }
    return this.memory.bytes;
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
