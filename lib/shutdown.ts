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
