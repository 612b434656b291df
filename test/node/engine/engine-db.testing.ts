// Temp-file engine databases for store/queue tests; removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { EngineDb } from '../../../node/engine/store-db.ts';

export function tempDbPath(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'zos-engine-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'engine.db');
}

/** Open a handle that is closed when the test ends. */
export function openDb(t: TestContext, path: string): EngineDb {
  const db = EngineDb.open(path);
  t.after(() => db.close());
  return db;
}

/** A clock whose now() is fixed (seconds granularity is what the store records). */
export function fixedClock(ms: number) {
  return {
    now: () => ms,
    sleep: () => Promise.resolve(),
    setTimeout: (fn: () => void, delay: number) => {
      const h = setTimeout(fn, delay);
      return { cancel: () => clearTimeout(h) };
    },
  };
}
