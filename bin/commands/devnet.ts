import type { Command } from 'commander';
import { z } from 'zod';
import { createLogger } from '../../lib/log.ts';
import { stopOnSignals } from '../../lib/shutdown.ts';
import { zodMessage } from '../../lib/zod-issues.ts';
// Only a constant: the devnet itself loads when the command runs (it costs seconds).
import { DEVNET_MAX_AHEAD_MS } from '../../chain/devnet/pace.ts';

const optionsSchema = z
  .object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    dataDir: z.string().min(1).optional(),
    blockMs: z.coerce.number().int().min(100).optional(),
    maxAheadS: z.coerce.number().int().min(0),
    dev: z.boolean().optional(),
    rpcCors: z.string().min(1).optional(),
  })
  .strict();

/** `zos devnet`: a local tfchain-compatible chain; prints `ready ws://HOST:PORT` once it accepts connections. */
export function register(program: Command): void {
  program
    .command('devnet')
    .description('run a local tfchain-compatible development chain (JSON-RPC over WebSocket and HTTP)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any free port)', '9944')
    .option('--data-dir <dir>', 'keep the chain in this directory (memory only when absent)')
    .option('--block-ms <ms>', 'also produce a block every N ms, even when idle')
    .option('--max-ahead-s <s>', 'instant seal waits while chain time is more than N s ahead of the clock (each block moves it >= 3 s)', String(DEVNET_MAX_AHEAD_MS / 1000))
    .option('--dev', 'serve the dev_* RPCs (mint, time travel, seal) and the faucet POST /activation/activate')
    .option('--rpc-cors <origins>', "browser origins allowed besides localhost, comma separated, or 'all'")
    .action(async (raw: Record<string, unknown>) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        program.error(`invalid devnet options: ${zodMessage(parsed.error)}`);
      }
      const opts = parsed.data!;
      const log = createLogger({ name: 'devnet' });
      // Imported here: loading the devnet costs seconds, and every other zos command would pay it.
      const { Devnet } = await import('../../chain/devnet/index.ts');
      const devnet = new Devnet({
        host: opts.host, port: opts.port, dataDir: opts.dataDir, blockMs: opts.blockMs, maxAheadMs: opts.maxAheadS * 1000, dev: opts.dev, logger: log,
        allowedOrigins: opts.rpcCors === 'all' ? 'all' : opts.rpcCors?.split(',').map((o) => o.trim()),
      });
      stopOnSignals(log, 'devnet', () => devnet.close());
      try {
        const url = await devnet.start();
        process.stdout.write(`ready ${url}\n`);
      } catch (err) {
        log.error({ err }, 'devnet failed to start');
        await devnet.close();
        process.exitCode = 1;
      }
    });
}
