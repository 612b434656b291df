import { zosNative } from './native.ts';

/**
 * Gives the daemon's freed malloc memory back to the kernel (glibc malloc_trim(0), through our
 * addon): once when start-up has settled, then every 30 s. Why (issue 16, bench/node.ts):
 * start-up work on V8's platform worker thread (concurrent GC, background compiles) sometimes
 * leaves ~7 MB of freed chunks in that thread's malloc arena (gdb: its thread_arena), which glibc
 * keeps resident for good (free pages inside a heap go back only on a trim): an idle node at 86
 * instead of 78 MB in about 1 start of 4. A trim returns them, and 1.5-3 MB of free pages of the
 * other arenas besides; it takes 0.3-0.8 ms. Without the addon the
 * node runs as before. Returns a stop function; the timers never keep the process alive.
 */
export function trimMallocPeriodically(firstMs = 1_000, everyMs = 30_000): () => void {
  const native = zosNative();
  if (!native) return () => {};
  let timer = setTimeout(function trim() {
    native.mallocTrim();
    timer = setTimeout(trim, everyMs).unref();
  }, firstMs).unref();
  return () => clearTimeout(timer);
}
