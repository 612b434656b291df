import type { Call } from '@polkadot/types/interfaces';
import type { Codec } from '@polkadot/types/types';
import { badOrigin, moduleError } from './errors.ts';
import type { Runtime } from './runtime.ts';

export type Origin = { kind: 'signed'; account: string } | { kind: 'root' } | { kind: 'none' };

/** Storage access for one pallet; item names and keys as in the Rust pallet. */
export class PalletStore {
  constructor(
    private readonly runtime: Runtime,
    readonly pallet: string,
  ) {}

  /** Decoded value, or null when absent (Default items give their default). */
  get<T extends Codec = Codec>(item: string, ...keys: unknown[]): T | null {
    return this.runtime.readStorage(this.pallet, item, keys) as T | null;
  }

  /** Plain JSON (toJSON) of a value, or null. */
  json<T = any>(item: string, ...keys: unknown[]): T | null {
    const v = this.get(item, ...keys);
    return v === null ? null : (v.toJSON() as T);
  }

  has(item: string, ...keys: unknown[]): boolean {
    return this.runtime.hasStorage(this.pallet, item, keys);
  }

  put(item: string, keys: unknown[], value: unknown): void {
    this.runtime.writeStorage(this.pallet, item, keys, value);
  }

  remove(item: string, ...keys: unknown[]): void {
    this.runtime.removeStorage(this.pallet, item, keys);
  }

  /** All values of a map (or of one first key of a double map). */
  values<T extends Codec = Codec>(item: string, ...prefixKeys: unknown[]): T[] {
    return this.runtime.iterateStorage(this.pallet, item, prefixKeys).map((e) => e.value as T);
  }

  /** Every entry with its decoded key parts. */
  entries(item: string, ...prefixKeys: unknown[]): Array<{ keys: Codec[]; value: Codec }> {
    return this.runtime.iterateStorage(this.pallet, item, prefixKeys);
  }
}

/** What a hook (genesis, on_initialize, on_finalize) may do. */
export class HookContext {
  constructor(readonly runtime: Runtime) {}

  get registry() {
    return this.runtime.registry;
  }

  store(pallet: string): PalletStore {
    return new PalletStore(this.runtime, pallet);
  }

  deposit(pallet: string, event: string, data: unknown): void {
    this.runtime.depositEvent(pallet, event, data);
  }

  /** Block number being built. */
  get blockNumber(): number {
    return this.runtime.blockNumber();
  }

  /** Timestamp.Now in milliseconds. */
  get nowMs(): number {
    return this.runtime.nowMs();
  }

  /** Timestamp.Now in whole seconds, as pallets use it. */
  get nowSeconds(): number {
    return Math.floor(this.runtime.nowMs() / 1000);
  }

  fail(pallet: string, error: string): never {
    throw moduleError(pallet, error);
  }
}

/** What a call handler may do: a hook context plus the caller's origin. */
export class CallContext extends HookContext {
  constructor(
    runtime: Runtime,
    readonly origin: Origin,
  ) {
    super(runtime);
  }

  /** The signer's account (0x hex AccountId32), or BadOrigin. */
  signer(): string {
    if (this.origin.kind !== 'signed') throw badOrigin();
    return this.origin.account;
  }

  ensureRoot(): void {
    if (this.origin.kind !== 'root') throw badOrigin();
  }

  /** Dispatches a nested call (utility batch) in its own transactional layer. */
  dispatch(call: Call, origin: Origin = this.origin): void {
    this.runtime.dispatchCall(call, origin);
  }
}
