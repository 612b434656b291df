import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { createLogger } from '../../lib/log.ts';
import { stopOnSignals } from '../../lib/shutdown.ts';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

const optionsSchema = z
  .object({
    chain: z.preprocess((v) => v ?? [], z.array(z.string().regex(/^wss?:\/\//, '--chain URLs must be ws:// or wss://')).min(1, '--chain is required')),
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    dataDir: z.string().min(1).optional(),
    db: z.string().regex(/^postgres(ql)?:\/\//, '--db must be a postgres:// URL').optional(),
    kycVerified: z.array(z.string().min(1)).optional(),
    relay: z.string().regex(/^wss?:\/\//, '--relay must be a ws:// or wss:// URL').optional(),
    mnemonic: z.string().min(1).optional(),
    activationUrl: z.string().regex(/^https?:\/\//, '--activation-url must be an http(s) URL').optional(),
    pollMinutes: z.coerce.number().positive('--poll-minutes must be positive').optional(),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
  })
  .strict()
  .refine((o) => !o.tlsCert === !o.tlsKey, '--tls-cert and --tls-key go together')
  .refine((o) => !(o.dataDir && o.db), '--data-dir and --db are exclusive')
  .refine((o) => !o.relay === !o.mnemonic, '--relay and --mnemonic go together (the indexer asks nodes over RMB as its own twin)');

/** `zos indexer`: gridproxy REST + GraphQL + KYC over the chain; prints `ready http(s)://HOST:PORT`. */
export function register(program: Command): void {
  program
    .command('indexer')
    .description('index tfchain and serve the gridproxy REST API, GraphQL (/graphql) and a KYC status service')
    .option('--chain <urls>', 'tfchain WebSocket URL(s), comma separated or repeated', list)
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any free port)', '8081')
    .option('--data-dir <dir>', 'keep the SQLite store here, so a restart resumes where it stopped (temporary when absent)')
    .option('--db <url>', 'PostgreSQL URL (postgres://...) for a store shared by several indexer processes (one follows the chain at a time, the others serve it and take over)')
    .option('--kyc-verified <ss58>', 'only these accounts are KYC-verified (repeatable; default: every account, as on a dev grid)', list)
    .option('--relay <url>', 'RMB relay to ask nodes for statistics, health and features (needs --mnemonic)')
    .option('--mnemonic <words>', "the indexer's account on chain (its twin is created with --relay when missing)")
    .option('--activation-url <url>', 'activation service that funds the indexer account when empty (a dev grid faucet)')
    .option('--poll-minutes <n>', 'minutes between RMB polls of a node (health, features, IPv6)', '5')
    .option('--tls-cert <file>', 'serve https:// with this certificate (PEM); grid_client reaches KYC over https only')
    .option('--tls-key <file>', 'private key for --tls-cert (PEM)')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        process.stderr.write(`zos indexer: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
        process.exit(2);
      }
      const o = parsed.data;
      const log = createLogger({ name: 'indexer' });
      // Imported here so other zos commands don't pay for loading polkadot and graphql.
      const { Indexer } = await import('../../indexer/indexer.ts');
      const indexer = new Indexer({
        chainUrls: o.chain, host: o.host, port: o.port, dataDir: o.dataDir ?? null, db: o.db ?? null, kycVerified: o.kycVerified ?? null,
        rmb: o.relay ? { relayUrl: o.relay, mnemonic: o.mnemonic!, activationUrl: o.activationUrl, pollEveryMs: (o.pollMinutes ?? 5) * 60_000 } : null,
        tls: o.tlsCert ? { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey!) } : undefined,
        log,
      });
      stopOnSignals(log, 'indexer', () => indexer.close());
      try {
        process.stdout.write(`ready ${await indexer.start()}\n`);
      } catch (err) {
        log.error({ err }, 'indexer failed to start');
        process.exit(1);
      }
    });
}
