import { join } from 'node:path';

/**
 * A directory store's file names (SPEC.md §5), apart from DirStore: the build's worker threads
 * load only this and packs.ts (each worker pays its imports at start, on the build's critical
 * path, and DirStore's module graph, with lib/durable, cost ~5 ms more).
 */
export function chunkFilePath(location: string, id: string): string {
  return `${location}/chunks/${id.slice(0, 2)}/${id}`; // not path.join: ~1.6 µs a call, a read path makes one per chunk
}

/** A fresh name in the store's staging directory (temp + rename writes). */
export function tmpFilePath(location: string): string {
  return join(location, 'tmp', `${tmpPrefix}-${++tmpCount}`);
}
/**
 * Unique per process and thread (random: pids are reused); a counter after it costs less than
 * random bytes per chunk. Math.random, not node:crypto, whose import costs a worker ~3 ms at start:
 * a name only has to differ from the live writers' names.
 */
const tmpPrefix = `${process.pid}-${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
let tmpCount = 0;
