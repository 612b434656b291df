/**
 * Runs `fn` over `items` with at most `limit` calls in flight (results in input order). The
 * first failure is thrown once the calls already started have settled, so nothing runs on
 * behind the caller's back.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: { err: unknown } | null = null;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw (failed as { err: unknown }).err;
  return out;
}

/**
 * Runs the synchronous `fn` over `items` in order, yielding to the event loop each time a turn
 * has run for `sliceMs`. Short system calls (lstat, mkdir, link, chmod...) made synchronously cost
 * a few µs each, against tens through the thread pool; other work on the loop waits a slice at most.
 */
export async function mapSliced<T, R>(items: readonly T[], fn: (item: T, index: number) => R, sliceMs = 4): Promise<R[]> {
  const out = new Array<R>(items.length);
  let start = performance.now();
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    if (performance.now() - start >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
  return out;
}
