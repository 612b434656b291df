import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import type { ChainClient } from '../../chain/client/index.ts';
import { createLogger } from '../../lib/log.ts';
import { stopOnSignals } from '../../lib/shutdown.ts';
import { zodMessage } from '../../lib/zod-issues.ts';
import type { RelayServer } from '../../relay/server.ts';
import { DEFAULT_LIMITS, type RelayLimits } from '../../relay/limits.ts';

/** One flag per relay bound; seconds on the command line where the limit is in milliseconds. */
const LIMIT_FLAGS: { flag: string; key: keyof RelayLimits; what: string; scale?: number }[] = [
  { flag: 'max-queue-bytes', key: 'queueBytes', what: 'bytes one offline queue may hold' },
  { flag: 'max-total-queue-bytes', key: 'totalQueueBytes', what: 'bytes all offline queues may hold (Redis: its used memory)' },
  { flag: 'slow-reader-timeout', key: 'slowReaderMs', what: 'seconds a session may leave frames unread before it is dropped', scale: 1000 },
  { flag: 'max-sessions-per-twin', key: 'sessionsPerTwin', what: 'concurrent sessions of one twin' },
  { flag: 'max-sessions', key: 'maxSessions', what: 'concurrent sessions in total' },
  { flag: 'upgrades-per-minute', key: 'upgradesPerMinute', what: 'WebSocket upgrades per remote address per minute' },
  { flag: 'federation-per-minute', key: 'federationPerMinute', what: 'federation POSTs per remote address per minute' },
  { flag: 'max-federation-pending', key: 'federationPending', what: 'envelopes waiting to be federated' },
  { flag: 'max-federation-pending-bytes', key: 'federationPendingBytes', what: 'bytes waiting to be federated' },
  { flag: 'federation-max-ttl', key: 'federationMaxTtlS', what: 'seconds a federation is retried at most' },
  { flag: 'jwt-max-lifetime', key: 'jwtMaxLifetimeS', what: 'seconds a connection JWT may live (exp - iat)' },
];
const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

const optionsSchema = z
  .object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    chain: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
    domain: z.array(z.string().min(1).regex(/^[^\s/_]+$/, 'a host name (with :port), no scheme or path')).min(1),
    dataDir: z.string().min(1).optional(),
    redis: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    limit: z.array(z.coerce.number().int().positive()).length(2, 'takes COUNT SIZE').optional(),
    maxMessageSize: z.coerce.number().int().min(1024).optional(),
    ...Object.fromEntries(LIMIT_FLAGS.map((l) => [camel(l.flag), z.coerce.number().positive().optional()])),
  })
  .strict()
  .refine((o) => !o.tlsCert === !o.tlsKey, '--tls-cert and --tls-key go together')
  .refine((o) => !(o.dataDir && o.redis), '--data-dir and --redis are exclusive');

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `zos relay`: an RMB relay; prints `ready ws(s)://HOST:PORT` once it listens. */
export function register(program: Command): void {
  const cmd = program
    .command('relay')
    .description('run an RMB relay (wire-compatible with rmb-rs)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any free port)', '8080')
    .requiredOption('--chain <url>', 'tfchain WebSocket URL for twin lookups')
    .requiredOption('--domain <name>', "this relay's hostname as twins list it (repeatable)", collect)
    .option('--data-dir <dir>', 'keep offline queues on disk (SQLite) so restarts lose nothing')
    .option('--redis <url>', 'keep queues in Redis streams shared with other relay processes')
    .option('--tls-cert <file>', 'serve wss:// with this certificate (PEM)')
    .option('--tls-key <file>', 'private key for --tls-cert (PEM)')
    .option('--limit <count_size...>', 'per-twin limit per minute: COUNT SIZE (messages, bytes)')
    .option('--max-message-size <bytes>', 'largest accepted message (default 1 MiB)');
  for (const l of LIMIT_FLAGS) {
    cmd.option(`--${l.flag} <n>`, `${l.what} (default ${DEFAULT_LIMITS[l.key] / (l.scale ?? 1)})`);
  }
  cmd.action(async (raw: Record<string, unknown>) => {
      // Imported here so other zos commands don't pay for loading the relay and the chain client.
      const { connectChain } = await import('../../chain/client/index.ts');
      const { ChainTwinDirectory } = await import('../../relay-client/chain-twins.ts');
      const { CachedTwinDirectory } = await import('../../rmb/twins.ts');
      const { RelayServer } = await import('../../relay/server.ts');
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        program.error(`invalid relay options: ${zodMessage(parsed.error, { root: 'options' })}`);
      }
      const opts = parsed.data!;
      const log = createLogger({ name: 'relay' });
      let chain: ChainClient | null = null;
      let relay: RelayServer | null = null;
      stopOnSignals(log, 'relay', () => Promise.all([relay?.close(), chain?.close()]));
      try {
        chain = connectChain({ urls: [opts.chain], logger: log.child({ component: 'chain' }) });
        await chain.start();
        relay = new RelayServer({
          twins: new CachedTwinDirectory(new ChainTwinDirectory(chain)),
          domains: opts.domain,
          host: opts.host,
          port: opts.port,
          dataDir: opts.dataDir,
          redisUrl: opts.redis,
          tls: opts.tlsCert ? { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey!) } : undefined,
          limit: opts.limit ? { count: opts.limit[0]!, size: opts.limit[1]! } : undefined,
          maxMessageSize: opts.maxMessageSize,
          limits: Object.fromEntries(
            LIMIT_FLAGS.flatMap((l) => {
              const v = (opts as unknown as Record<string, number | undefined>)[camel(l.flag)];
              return v === undefined ? [] : [[l.key, v * (l.scale ?? 1)]];
            }),
          ),
          log,
        });
        const url = await relay.start();
        process.stdout.write(`ready ${url}\n`);
      } catch (err) {
        log.error({ err }, 'relay failed to start');
        await relay?.close();
        await chain?.close();
        process.exitCode = 1;
      }
    });
}
