import { Blake2128, Blake2128Concat, Blake2256, decAnyMetadata, Identity, Twox128, Twox256, Twox64Concat } from '@polkadot-api/substrate-bindings';
import { ChainError, ChainErrorCode } from './errors.ts';
import { Call, camelCase, fromHex, type LookupEntry, Reader, toHex, TypeRegistry, Writer } from './scale.ts';
import type { HexString } from './types.ts';

/**
 * One runtime's view of the chain, built from its metadata (V14): storage keys and values, call
 * encoding, event records and module errors, addressed by polkadot-js' camelCase names
 * (`tfgridModule.twins`, `smartContractModule.createNodeContract`) so callers read the same as
 * with @polkadot/api. Pure: the metadata bytes come from the connection (or its cache).
 */

type Hasher = 'Blake2128' | 'Blake2256' | 'Blake2128Concat' | 'Twox128' | 'Twox256' | 'Twox64Concat' | 'Identity';
const HASHERS: Record<Hasher, (b: Uint8Array) => Uint8Array> = { Blake2128, Blake2256, Blake2128Concat, Twox128, Twox256, Twox64Concat, Identity };
/** Bytes of the hash before the key itself, for the hashers that keep it (…Concat, Identity). */
const CONCAT_PREFIX: Partial<Record<Hasher, number>> = { Blake2128Concat: 16, Twox64Concat: 8, Identity: 0 };

interface StorageItem {
  prefix: Uint8Array;
  /** Empty for a plain value. */
  hashers: Hasher[];
  keyTypes: number[];
  value: number;
  /** ValueQuery default, decoded when the key is absent; null for OptionQuery. */
  fallback: Uint8Array | null;
}

interface PalletInfo {
  name: string;
  index: number;
  calls: number | undefined;
  events: number | undefined;
  errors: number | undefined;
}

export interface SignedExtension {
  identifier: string;
  type: number;
  additionalSigned: number;
}

/** An event as polkadot-js shows it: pallet section, variant name, fields in order as JSON. */
export interface RuntimeEvent {
  section: string;
  method: string;
  data: unknown[];
}

export interface EventRecord {
  /** `{applyExtrinsic: n}`, `{finalization: null}` or `{initialization: null}`. */
  phase: unknown;
  event: RuntimeEvent;
}

export interface ModuleErrorInfo {
  section: string;
  name: string;
  docs: string[];
}

type Metadata14 = {
  lookup: LookupEntry[];
  pallets: Array<{
    name: string;
    index: number;
    calls: number | undefined;
    events: number | undefined;
    errors: number | undefined;
    storage: { prefix: string; items: Array<{ name: string; modifier: number; type: { tag: 'plain'; value: number } | { tag: 'map'; value: { hashers: Array<{ tag: Hasher }>; key: number; value: number } }; fallback: string }> } | undefined;
  }>;
  extrinsic: { type: number; version: number; signedExtensions: SignedExtension[] };
};

export class Runtime {
  readonly types: TypeRegistry;
  readonly signedExtensions: readonly SignedExtension[];
  /** Type ids of the extrinsic's Address and Signature parameters. */
  readonly addressType: number;
  readonly signatureType: number;
  private readonly callType: number;
  private readonly pallets = new Map<string, PalletInfo>();
  private readonly palletsByIndex = new Map<number, PalletInfo>();
  private readonly storage = new Map<string, StorageItem>();
  private readonly eventsItem: StorageItem;

  constructor(metadata: Uint8Array) {
    let m: Metadata14;
    try {
      const decoded = decAnyMetadata(metadata) as unknown as { metadata: { tag: string; value: Metadata14 } };
      if (decoded.metadata.tag !== 'v14' && decoded.metadata.tag !== 'v15') throw new Error(`metadata ${decoded.metadata.tag} is not supported`);
      m = decoded.metadata.value;
    } catch (err) {
      throw new ChainError(ChainErrorCode.decode, `cannot decode the runtime metadata: ${(err as Error).message}`, { cause: err });
    }
    this.types = new TypeRegistry(m.lookup);
    const ext = this.types.entry(m.extrinsic.type);
    const param = (name: string) => {
      const p = (ext as unknown as { params: Array<{ name: string; type: number | undefined }> }).params.find((x) => x.name === name)?.type;
      if (p === undefined) throw new ChainError(ChainErrorCode.decode, `metadata: the extrinsic type has no ${name} parameter`);
      return p;
    };
    this.addressType = param('Address');
    this.signatureType = param('Signature');
    this.callType = param('Call');
    this.signedExtensions = m.extrinsic.signedExtensions;
    for (const p of m.pallets) {
      const info: PalletInfo = { name: p.name, index: p.index, calls: p.calls, events: p.events, errors: p.errors };
      const section = camelCase(p.name);
      this.pallets.set(section, info);
      this.palletsByIndex.set(p.index, info);
      for (const item of p.storage?.items ?? []) {
        const prefix = Buffer.concat([Twox128(new TextEncoder().encode(p.storage!.prefix)), Twox128(new TextEncoder().encode(item.name))]);
        const map = item.type.tag === 'map' ? item.type.value : null;
        const hashers = map ? map.hashers.map((h) => h.tag) : [];
        let keyTypes: number[] = [];
        if (map) {
          const keyDef = this.types.entry(map.key).def;
          keyTypes = hashers.length > 1 && keyDef.tag === 'tuple' ? keyDef.value : [map.key];
        }
        this.storage.set(`${section}.${camelCase(item.name)}`, {
          prefix,
          hashers,
          keyTypes,
          value: map ? map.value : (item.type.value as number),
          fallback: item.modifier === 1 ? fromHex(item.fallback) : null,
        });
      }
    }
    this.eventsItem = this.item('system', 'events');
    this.types.encodeCall = (w, call) => this.writeCall(w, call);
  }

  private item(section: string, name: string): StorageItem {
    const item = this.storage.get(`${section}.${name}`);
    if (!item) throw new ChainError(ChainErrorCode.badInput, `the runtime has no storage ${section}.${name}`);
    return item;
  }

  /** The full storage key of `section.name(...keys)`. */
  storageKey(section: string, name: string, keys: readonly unknown[] = []): HexString {
    const item = this.item(section, name);
    if (keys.length > item.hashers.length) throw new ChainError(ChainErrorCode.badInput, `${section}.${name} takes ${item.hashers.length} keys`);
    const parts = [item.prefix];
    keys.forEach((k, i) => {
      const w = new Writer();
      this.types.encode(item.keyTypes[i]!, k, w, `${section}.${name} key ${i}`);
      parts.push(HASHERS[item.hashers[i]!](w.done()));
    });
    return toHex(Buffer.concat(parts));
  }

  /** The stored value as JSON: the default for an absent ValueQuery key, null for an absent OptionQuery one. */
  decodeStorage(section: string, name: string, data: HexString | null): unknown {
    const item = this.item(section, name);
    const bytes = data === null ? item.fallback : fromHex(data);
    if (bytes === null) return null;
    return this.decodeAll(item.value, bytes, `${section}.${name}`);
  }

  /** The key arguments of a full storage key of a map whose hashers keep the key (…Concat, Identity). */
  decodeStorageKey(section: string, name: string, key: HexString): unknown[] {
    const item = this.item(section, name);
    const r = new Reader(fromHex(key));
    r.take(32);
    return item.hashers.map((h, i) => {
      const skip = CONCAT_PREFIX[h];
      if (skip === undefined) throw new ChainError(ChainErrorCode.decode, `${section}.${name}: a ${h} key cannot be read back`);
      r.take(skip);
      return this.types.decode(item.keyTypes[i]!, r);
    });
  }

  private decodeAll(type: number, bytes: Uint8Array, what: string): unknown {
    const r = new Reader(bytes);
    const value = this.types.decode(type, r);
    if (r.pos !== bytes.length) throw new ChainError(ChainErrorCode.decode, `${what}: ${bytes.length - r.pos} bytes left after the value`);
    return value;
  }

  /** The SCALE bytes of a call (pallet index, call index, arguments). */
  encodeCall(call: Call): Uint8Array {
    const w = new Writer();
    this.writeCall(w, call);
    return w.done();
  }

  private writeCall(w: Writer, call: Call): void {
    const pallet = this.pallets.get(call.section);
    const def = pallet?.calls === undefined ? undefined : this.types.entry(pallet.calls).def;
    const variant = def?.tag === 'variant' ? def.value.find((v) => camelCase(v.name) === call.method) : undefined;
    if (!pallet || !variant) throw new ChainError(ChainErrorCode.badInput, `the runtime has no call ${call.section}.${call.method}`);
    if (call.args.length !== variant.fields.length) {
      throw new ChainError(ChainErrorCode.badInput, `${call.section}.${call.method} takes ${variant.fields.length} arguments, got ${call.args.length}`);
    }
    w.u8(pallet.index).u8(variant.index);
    variant.fields.forEach((f, i) => this.types.encode(f.type, call.args[i], w, `${call.section}.${call.method}(${f.name ?? i})`));
  }

  /** Encodes a value of any registry type (e.g. the Address of an extrinsic). */
  encode(type: number, value: unknown): Uint8Array {
    const w = new Writer();
    this.types.encode(type, value, w);
    return w.done();
  }

  get eventsKey(): HexString {
    return toHex(this.eventsItem.prefix);
  }

  /** System.Events of one block, each event with its section, method and positional data. */
  decodeEvents(data: HexString | null): EventRecord[] {
    if (data === null) return [];
    const record = this.types.entry(this.types.entry(this.eventsItem.value).def.value as number).def;
    if (record.tag !== 'composite') throw new ChainError(ChainErrorCode.decode, 'metadata: EventRecord is not a struct');
    const field = (name: string) => record.value.find((f) => f.name === name)!.type;
    const r = new Reader(fromHex(data));
    const n = r.length();
    const out: EventRecord[] = [];
    for (let i = 0; i < n; i++) {
      const phase = this.types.decode(field('phase'), r);
      const pallet = this.palletsByIndex.get(r.u8());
      const eventsDef = pallet?.events === undefined ? undefined : this.types.entry(pallet.events).def;
      const index = r.u8();
      const variant = eventsDef?.tag === 'variant' ? eventsDef.value.find((v) => v.index === index) : undefined;
      if (!pallet || !variant) throw new ChainError(ChainErrorCode.decode, `event ${i} of the block is unknown to the runtime`);
      const data = variant.fields.map((f) => this.types.decode(f.type, r));
      this.types.decode(field('topics'), r);
      out.push({ phase, event: { section: camelCase(pallet.name), method: variant.name, data } });
    }
    return out;
  }

  /** The pallet and name of a module error (`{index, error}` of a DispatchError::Module). */
  moduleError(index: number, error: Uint8Array): ModuleErrorInfo {
    const pallet = this.palletsByIndex.get(index);
    const def = pallet?.errors === undefined ? undefined : this.types.entry(pallet.errors).def;
    const variant = def?.tag === 'variant' ? def.value.find((v) => v.index === error[0]) : undefined;
    if (!pallet || !variant) return { section: pallet ? camelCase(pallet.name) : `pallet${index}`, name: `Error${error[0]}`, docs: [] };
    return { section: camelCase(pallet.name), name: variant.name, docs: variant.docs };
  }

  /** The runtime call type (for `utility.batchAll` lists of calls). */
  get runtimeCallType(): number {
    return this.callType;
  }
}

export { Call };
