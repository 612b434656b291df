/** Waits for `p` (its outcome ignored) but at most `ms`; the timer never outlives the wait. */
export function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
