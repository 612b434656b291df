import type { Logger } from './log.ts';

/**
 * Runs `close` once on the first SIGINT or SIGTERM, then exits 0 (1 if closing failed).
 * Shared by the long-running zos commands (devnet, relay, node).
 */
export function stopOnSignals(log: Logger, what: string, close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `stopping ${what}`);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, `${what} did not close cleanly`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * A daemon outlives a promise a library forgot to handle: @polkadot/rpc-provider rejects
 * "WebSocket is not connected" with no handler when the chain goes away mid-request, which
 * killed the node whenever the chain restarted (found by test/chaos). Logged, not fatal; the
 * chain client reconnects and its callers retry.
 */
export function logUnhandledRejections(log: Logger): void {
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (kept running)'));
}
