import { readFile } from 'node:fs/promises';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';

/**
 * The gateway's own JSON state (routes, traffic counters). A file that cannot be read or parsed
 * is logged and taken as absent: it must not stop the node's start (the routes come back when
 * the engine replays the gateway workloads; counters restart), and the next save replaces it.
 */
export async function readState<T extends object>(file: string, log: Logger): Promise<Partial<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.error({ file, err: (err as Error).message }, 'gateway state unreadable; starting without it');
    return {};
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Partial<T>;
    throw new Error('not a JSON object');
  } catch (err) {
    log.error({ file, err: (err as Error).message }, 'gateway state unreadable; starting without it');
    return {};
  }
}

/**
 * Replaces a state file whole: after a crash or a power cut it is the old or the new one, never
 * empty (lib/durable's temp file, fsync, rename and directory fsync; a rename alone is not enough).
 */
export function writeState(file: string, value: unknown): Promise<void> {
  return writeFileDurably(file, JSON.stringify(value), 0o600);
}
