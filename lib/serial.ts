/**
 * Runs async steps one at a time, in call order. A host object (pools, network resources, the
 * public setup, the gateway proxy) changes shared state on the machine: each change must see
 * the one before it finished. A failed step fails its own caller only; the next step still runs.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every step queued so far has ended (whatever its outcome). */
  async idle(): Promise<void> {
    await this.tail;
  }
}
