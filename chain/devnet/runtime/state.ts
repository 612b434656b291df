/**
 * Key-value state with nested transactional layers (storage overlay). Keys are
 * lowercase 0x-hex storage keys; values are SCALE bytes. A layer maps a key to
 * its new bytes, or to null for a deletion.
 */
export class StateStore {
  private readonly base: Map<string, Uint8Array>;
  private readonly layers: Array<Map<string, Uint8Array | null>> = [];
  /** Keys changed since the last takeDirty(), for persistence. */
  private dirty = new Set<string>();

  constructor(initial?: Iterable<[string, Uint8Array]>) {
    this.base = new Map(initial ?? []);
  }

  get(key: string): Uint8Array | undefined {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]!;
      if (layer.has(key)) return layer.get(key) ?? undefined;
    }
    return this.base.get(key);
  }

  set(key: string, value: Uint8Array): void {
    this.write(key, value);
  }

  delete(key: string): void {
    this.write(key, null);
  }

  private write(key: string, value: Uint8Array | null): void {
    const top = this.layers[this.layers.length - 1];
    if (top) top.set(key, value);
    else this.apply(key, value);
  }

  private apply(key: string, value: Uint8Array | null): void {
    if (value === null) this.base.delete(key);
    else this.base.set(key, value);
    this.dirty.add(key);
  }

  get depth(): number {
    return this.layers.length;
  }

  begin(): void {
    this.layers.push(new Map());
  }

  commit(): void {
    const top = this.layers.pop();
    if (!top) throw new Error('commit without begin');
    for (const [k, v] of top) this.write(k, v);
  }

  rollback(): void {
    if (!this.layers.pop()) throw new Error('rollback without begin');
  }

  /** Runs fn in a layer: committed when it returns, rolled back when it throws. */
  transactional<T>(fn: () => T): T {
    this.begin();
    try {
      const out = fn();
      this.commit();
      return out;
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  /** Sorted keys starting with prefix, as seen through all layers. */
  keys(prefix = '0x'): string[] {
    const seen = new Map<string, boolean>();
    for (const k of this.base.keys()) if (k.startsWith(prefix)) seen.set(k, true);
    for (const layer of this.layers) {
      for (const [k, v] of layer) if (k.startsWith(prefix)) seen.set(k, v !== null);
    }
    return [...seen].filter(([, live]) => live).map(([k]) => k).sort();
  }

  /** An immutable copy of the committed state (for per-block snapshots). */
  snapshot(): ReadonlyMap<string, Uint8Array> {
    if (this.layers.length) throw new Error('snapshot inside a transaction');
    return new Map(this.base);
  }

  /** Changed keys since the last call, with their current bytes (null = deleted). */
  takeDirty(): Array<[string, Uint8Array | null]> {
    const out = [...this.dirty].map((k) => [k, this.base.get(k) ?? null] as [string, Uint8Array | null]);
    this.dirty = new Set();
    return out;
  }
}
