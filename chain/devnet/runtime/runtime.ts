import { expandMetadata, type Metadata, type TypeRegistry, unwrapStorageType } from '@polkadot/types';
import type { Call } from '@polkadot/types/interfaces';
import type { Codec } from '@polkadot/types/types';
import { compactStripLength, stringCamelCase, u8aConcat, u8aToHex, hexToU8a, compactToU8a, isU8a } from '@polkadot/util';
import { buildMetadata } from '../metadata/build.ts';
import { CallContext, HookContext, type Origin } from './context.ts';
import { DispatchFailure } from './errors.ts';
import type { CallArgs, CallDecl, PalletDecl } from './pallet.ts';
import { StateStore } from './state.ts';

export type PhaseJson = { ApplyExtrinsic: number } | 'Finalization' | 'Initialization';

interface PendingEvent {
  phase: PhaseJson;
  bytes: Uint8Array;
}

/**
 * Generated metadata per pallet set. Declarations are static code, so the shape of a pallet
 * list (names, indices, item names) identifies its metadata; building it is the costly part
 * of creating a Runtime, and tests create many.
 */
const metadataCache = new Map<string, ReturnType<typeof buildMetadata>>();
function metadataKey(pallets: PalletDecl[]): string {
  return pallets
    .map((p) => [p.name, p.index, (p.calls ?? []).map((c) => c.name), (p.events ?? []).map((e) => e[0]), p.errors ?? [], (p.storage ?? []).map((x) => x.name), (p.constants ?? []).map((c) => `${c.name}=${String(c.value)}`)].join('|'))
    .join(';');
}

const HASHER_PREFIX: Record<string, number> = { Blake2_128Concat: 16, Twox64Concat: 8, Identity: 0 };

/**
 * The devnet's runtime: generated metadata, typed storage over a transactional
 * StateStore, event collection and call dispatch. Block building and extrinsic
 * validation live in the executive; this class knows nothing about blocks beyond
 * the number and timestamp stored in System/Timestamp.
 */
export class Runtime {
  readonly registry: TypeRegistry;
  readonly metadata: Metadata;
  readonly metadataBytes: Uint8Array;
  readonly pallets: ReadonlyMap<string, PalletDecl>;
  private readonly decorated: ReturnType<typeof expandMetadata>;
  private readonly callsByIndex = new Map<string, { pallet: PalletDecl; call: CallDecl }>();
  private readonly palletTypes: Map<string, { call?: number; event?: number; error?: number }>;
  private events: PendingEvent[] = [];
  private phase: PhaseJson = 'Initialization';

  constructor(
    readonly palletList: PalletDecl[],
    readonly state: StateStore = new StateStore(),
  ) {
    const key = metadataKey(palletList);
    const built = metadataCache.get(key) ?? buildMetadata(palletList);
    metadataCache.set(key, built);
    this.registry = built.registry;
    this.metadata = built.metadata;
    this.metadataBytes = built.bytes;
    this.palletTypes = built.palletTypes;
    this.decorated = expandMetadata(this.registry, this.metadata);
    this.pallets = new Map(palletList.map((p) => [p.name, p]));
    for (const p of palletList) for (const c of p.calls ?? []) this.callsByIndex.set(`${p.index}:${c.index}`, { pallet: p, call: c });
  }

  // ---- storage ----

  private entry(pallet: string, item: string): any {
    const section = (this.decorated.query as any)[stringCamelCase(pallet)];
    const entry = section?.[stringCamelCase(item)];
    if (!entry) throw new Error(`unknown storage ${pallet}.${item}`);
    return entry;
  }

  /** Hex storage key of an item (map keys given in order). */
  storageKey(pallet: string, item: string, keys: unknown[] = []): string {
    const entry = this.entry(pallet, item);
    return u8aToHex(compactStripLength(entry(...keys))[1]);
  }

  private valueType(entry: any): string {
    return unwrapStorageType(this.registry, entry.meta.type);
  }

  decodeValue(pallet: string, item: string, bytes: Uint8Array): Codec {
    return this.registry.createTypeUnsafe(this.valueType(this.entry(pallet, item)), [bytes]);
  }

  readStorage(pallet: string, item: string, keys: unknown[]): Codec | null {
    const entry = this.entry(pallet, item);
    const raw = this.state.get(u8aToHex(compactStripLength(entry(...keys))[1]));
    if (raw) return this.registry.createTypeUnsafe(this.valueType(entry), [raw]);
    if (entry.meta.modifier.isOptional) return null;
    return this.registry.createTypeUnsafe(this.valueType(entry), [hexToU8a(entry.meta.fallback.toHex())]);
  }

  hasStorage(pallet: string, item: string, keys: unknown[]): boolean {
    return this.state.get(this.storageKey(pallet, item, keys)) !== undefined;
  }

  encodeValue(pallet: string, item: string, value: unknown): Uint8Array {
    if (isCodec(value)) return value.toU8a();
    return this.registry.createTypeUnsafe(this.valueType(this.entry(pallet, item)), [value]).toU8a();
  }

  writeStorage(pallet: string, item: string, keys: unknown[], value: unknown): void {
    this.state.set(this.storageKey(pallet, item, keys), this.encodeValue(pallet, item, value));
  }

  removeStorage(pallet: string, item: string, keys: unknown[]): void {
    this.state.delete(this.storageKey(pallet, item, keys));
  }

  /** Entries under an item (optionally narrowed by leading keys), with decoded keys. */
  iterateStorage(pallet: string, item: string, prefixKeys: unknown[]): Array<{ keys: Codec[]; value: Codec }> {
    const entry = this.entry(pallet, item);
    const prefix = u8aToHex(prefixKeys.length ? entry.keyPrefix(...prefixKeys) : entry.keyPrefix());
    const valueType = this.valueType(entry);
    return this.state.keys(prefix).map((key) => ({
      keys: this.decodeKeys(entry, key),
      value: this.registry.createTypeUnsafe(valueType, [this.state.get(key)!]),
    }));
  }

  private decodeKeys(entry: any, key: string): Codec[] {
    const type = entry.meta.type;
    if (!type.isMap) return [];
    const hashers: string[] = type.asMap.hashers.map((h: Codec) => h.toString());
    const keyTypeId = type.asMap.key;
    const keyTypes: string[] =
      hashers.length === 1
        ? [this.registry.createLookupType(keyTypeId)]
        : this.registry.lookup.getSiType(keyTypeId).def.asTuple.map((t: Codec) => this.registry.createLookupType(t as any));
    let rest = hexToU8a(key).subarray(32);
    const out: Codec[] = [];
    for (let i = 0; i < hashers.length; i++) {
      const skip = HASHER_PREFIX[hashers[i]!];
      if (skip === undefined) return out;
      rest = rest.subarray(skip);
      const value = this.registry.createTypeUnsafe(keyTypes[i]!, [rest]);
      out.push(value);
      rest = rest.subarray(value.encodedLength);
    }
    return out;
  }

  // ---- events ----

  setPhase(phase: PhaseJson): void {
    this.phase = phase;
  }

  depositEvent(pallet: string, event: string, data: unknown): void {
    const decl = this.pallets.get(pallet);
    const typeId = this.palletTypes.get(pallet)?.event;
    if (!decl || typeId === undefined) throw new Error(`pallet ${pallet} has no events`);
    const type = this.registry.createLookupType(typeId);
    const encoded = this.registry.createTypeUnsafe(type, [{ [event]: data }]).toU8a();
    this.events.push({ phase: this.phase, bytes: u8aConcat([decl.index], encoded) });
  }

  /** Events deposited so far in this block. */
  get eventCount(): number {
    return this.events.length;
  }

  /** SCALE Vec<EventRecord> of the block's events (phase ++ event ++ empty topics). */
  encodeEvents(): Uint8Array {
    const parts: Uint8Array[] = [compactToU8a(this.events.length)];
    for (const e of this.events) {
      parts.push(encodePhase(e.phase), e.bytes, new Uint8Array([0]));
    }
    return u8aConcat(...parts);
  }

  /** Clears the event list at the start of a block. */
  resetEvents(): void {
    this.events = [];
  }

  // ---- dispatch ----

  callDecl(call: Call): { pallet: PalletDecl; call: CallDecl } {
    const [p, c] = call.callIndex;
    const found = this.callsByIndex.get(`${p}:${c}`);
    if (!found) throw new DispatchFailure('CannotLookup');
    return found;
  }

  /**
   * Runs a call in its own transactional layer; a failure rolls back its storage
   * writes and events and is rethrown as a DispatchFailure.
   */
  dispatchCall(call: Call, origin: Origin): void {
    const { pallet, call: decl } = this.callDecl(call);
    if (!decl.run) throw new DispatchFailure('Other', undefined, undefined, `${pallet.name}.${decl.name} is not implemented by the devnet`);
    if (decl.root && origin.kind !== 'root') throw new DispatchFailure('BadOrigin');
    const args: CallArgs = {};
    call.meta.fields.forEach((f, i) => {
      args[f.name.unwrap().toString()] = call.args[i]!;
    });
    const mark = this.events.length;
    try {
      this.state.transactional(() => decl.run!(new CallContext(this, origin), args));
    } catch (err) {
      this.events.length = mark;
      throw err instanceof DispatchFailure ? err : new DispatchFailure('Other', undefined, undefined, String((err as Error)?.message ?? err));
    }
  }

  /** DispatchError JSON for a failure, with module indices resolved from metadata. */
  dispatchError(failure: DispatchFailure): unknown {
    if (failure.kind === 'Module') {
      const decl = this.pallets.get(failure.pallet!);
      const idx = decl?.errors?.indexOf(failure.errorName!) ?? -1;
      if (!decl || idx < 0) throw new Error(`unknown error ${failure.pallet}.${failure.errorName}`);
      return { Module: { index: decl.index, error: u8aToHex(new Uint8Array([idx, 0, 0, 0])) } };
    }
    if (failure.kind === 'Token' || failure.kind === 'Arithmetic') return { [failure.kind]: failure.errorName };
    return failure.kind;
  }

  /** Whether a call is free of fees (Pays::No). */
  paysFee(call: Call): boolean {
    try {
      return this.callDecl(call).call.paysFee !== false;
    } catch {
      return true;
    }
  }

  hooks(): HookContext {
    return new HookContext(this);
  }

  // ---- chain values the pallets read ----

  blockNumber(): number {
    return (this.readStorage('System', 'Number', []) as any).toNumber();
  }

  nowMs(): number {
    return (this.readStorage('Timestamp', 'Now', []) as any).toNumber();
  }

  /** Runs genesis hooks of every pallet, in index order. */
  genesis(): void {
    const ctx = this.hooks();
    for (const p of [...this.palletList].sort((a, b) => a.index - b.index)) p.genesis?.(ctx);
  }

  onInitialize(): void {
    const ctx = this.hooks();
    for (const p of [...this.palletList].sort((a, b) => a.index - b.index)) p.onInitialize?.(ctx);
  }

  onFinalize(): void {
    const ctx = this.hooks();
    for (const p of [...this.palletList].sort((a, b) => a.index - b.index)) p.onFinalize?.(ctx);
  }
}

function encodePhase(phase: PhaseJson): Uint8Array {
  if (phase === 'Finalization') return new Uint8Array([1]);
  if (phase === 'Initialization') return new Uint8Array([2]);
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(1, phase.ApplyExtrinsic, true);
  return out;
}

function isCodec(v: unknown): v is Codec {
  return typeof v === 'object' && v !== null && typeof (v as Codec).toU8a === 'function' && !isU8a(v);
}
