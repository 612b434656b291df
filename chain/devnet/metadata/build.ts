import { Metadata, TypeRegistry } from '@polkadot/types';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import type { PalletDecl, StorageDecl } from '../runtime/pallet.ts';
import { PortableRegistryBuilder } from './portable-registry.ts';
import { enumType, fields, type Ty } from './scale-info.ts';
import { Runtime, RuntimeCall, RuntimeEvent, signedExtensions, UncheckedExtrinsic } from './outer-types.ts';

/** tfchain's ContractIdProvides extension is empty both ways; declaring it silences polkadot-js. */
const CONTRACT_ID_PROVIDES = { ContractIdProvides: { extrinsic: {}, payload: {} } };

const MAGIC = new Uint8Array([0x6d, 0x65, 0x74, 0x61, 14]);

export interface BuiltMetadata {
  /** RuntimeMetadataPrefixed bytes (magic `meta` + V14). */
  bytes: Uint8Array;
  registry: TypeRegistry;
  metadata: Metadata;
  /** Lookup id of each pallet's Call/Event/Error type. */
  palletTypes: Map<string, { call?: number; event?: number; error?: number }>;
}

interface PalletTys {
  call?: Ty;
  event?: Ty;
  error?: Ty;
}

/** Call/Event/Error enums of one pallet, from its declaration. */
function palletTys(p: PalletDecl): PalletTys {
  const out: PalletTys = {};
  if (p.calls?.length) {
    out.call = {
      path: `${p.typePath}::Call`.split('::'),
      params: p.typeParams,
      def: {
        variant: p.calls.map((c) => ({ name: c.name, index: c.index, fields: fields(c.args), docs: c.docs ?? [`See [\`Pallet::${c.name}\`].`] })),
      },
    };
  }
  if (p.events?.length) {
    out.event = {
      path: `${p.typePath}::Event`.split('::'),
      params: p.eventTypeParams ?? p.typeParams,
      def: {
        variant: p.events.map(([name, specs, index], i) => ({ name, index: index ?? i, fields: fields(specs), docs: p.eventDocs?.[name] ?? [] })),
      },
    };
  }
  if (p.errors?.length) {
    out.error = enumType(`${p.typePath}::Error`, p.errors.map((n) => [n] as [string]), p.typeParams);
  }
  return out;
}

/**
 * Generates metadata V14 from the pallet declarations. Constants and storage
 * defaults are encoded in a second pass with a registry built from the first.
 */
export function buildMetadata(pallets: PalletDecl[]): BuiltMetadata {
  const sorted = [...pallets].sort((a, b) => a.index - b.index);
  const tys = new Map(sorted.map((p) => [p.name, palletTys(p)]));

  RuntimeCall.def = {
    variant: sorted
      .filter((p) => tys.get(p.name)!.call)
      .map((p) => ({
        name: p.name,
        index: p.index,
        fields: fields([[null, tys.get(p.name)!.call!, `self::sp_api_hidden_includes_construct_runtime::hidden_include::dispatch\n::CallableCallFor<${p.name}, Runtime>`]]),
        docs: [],
      })),
  };
  RuntimeEvent.def = {
    variant: sorted
      .filter((p) => tys.get(p.name)!.event)
      .map((p) => ({ name: p.name, index: p.index, fields: fields([[null, tys.get(p.name)!.event!, `${p.typePath.split('::')[0]}::Event<Runtime>`]]), docs: [] })),
  };

  const reg = new PortableRegistryBuilder();
  const ids = new Map<string, { call?: number; event?: number; error?: number }>();
  const pass1 = sorted.map((p) => {
    const t = tys.get(p.name)!;
    const entry = {
      call: t.call ? reg.add(t.call) : undefined,
      event: t.event ? reg.add(t.event) : undefined,
      error: t.error ? reg.add(t.error) : undefined,
    };
    const storage = (p.storage ?? []).map((s) => storageTypes(reg, s));
    const constants = (p.constants ?? []).map((c) => ({ decl: c, type: reg.add(c.type) }));
    return { p, entry, storage, constants };
  });
  const extrinsicType = reg.add(UncheckedExtrinsic);
  const exts = signedExtensions.map((e) => ({ identifier: e.identifier, type: reg.add(e.type), additionalSigned: reg.add(e.additionalSigned) }));
  const runtimeType = reg.add(Runtime);
  const { types, remap } = reg.build();

  const assemble = (encode: ((typeId: number, value: unknown) => string) | null) => ({
    lookup: { types },
    pallets: pass1.map(({ p, entry, storage, constants }) => {
      ids.set(p.name, {
        call: entry.call === undefined ? undefined : remap(entry.call),
        event: entry.event === undefined ? undefined : remap(entry.event),
        error: entry.error === undefined ? undefined : remap(entry.error),
      });
      return {
        name: p.name,
        storage: p.storage?.length
          ? {
              prefix: p.storagePrefix ?? p.name,
              items: storage.map(({ decl, type, valueId }) => ({
                name: decl.name,
                modifier: decl.modifier,
                type: remapStorageType(type, remap),
                fallback: decl.modifier === 'Optional' || !encode ? '0x00' : encode(remap(valueId), decl.default),
                docs: decl.docs ?? [],
              })),
            }
          : null,
        calls: entry.call === undefined ? null : { type: remap(entry.call) },
        events: entry.event === undefined ? null : { type: remap(entry.event) },
        constants: constants.map(({ decl, type }) => ({
          name: decl.name,
          type: remap(type),
          value: encode ? encode(remap(type), decl.value) : '0x',
          docs: decl.docs ?? [],
        })),
        errors: entry.error === undefined ? null : { type: remap(entry.error) },
        index: p.index,
      };
    }),
    extrinsic: {
      type: remap(extrinsicType),
      version: 4,
      signedExtensions: exts.map((e) => ({ identifier: e.identifier, type: remap(e.type), additionalSigned: remap(e.additionalSigned) })),
    },
    type: remap(runtimeType),
  });

  const toBytes = (json: unknown) => {
    const r = new TypeRegistry();
    return u8aConcat(MAGIC, r.createType('MetadataV14', json).toU8a());
  };

  // Pass 1 gives a registry able to encode values of our own types.
  const draftRegistry = new TypeRegistry();
  const draft = new Metadata(draftRegistry, toBytes(assemble(null)));
  draftRegistry.setMetadata(draft, undefined, CONTRACT_ID_PROVIDES);
  // SCALE bytes via toU8a(): toHex() on integers is big-endian, not SCALE.
  const encode = (typeId: number, value: unknown): string => {
    const typeName = draftRegistry.createLookupType(typeId);
    return u8aToHex(draftRegistry.createTypeUnsafe(typeName, value === undefined ? [] : [value]).toU8a());
  };
  const bytes = toBytes(assemble(encode));

  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, bytes);
  registry.setMetadata(metadata, undefined, CONTRACT_ID_PROVIDES);
  return { bytes, registry, metadata, palletTypes: ids };
}

function storageTypes(reg: PortableRegistryBuilder, decl: StorageDecl) {
  if ('plain' in decl.type) {
    const valueId = reg.add(decl.type.plain);
    return { decl, type: { plain: valueId } as const, valueId };
  }
  const { hashers, key, value } = decl.type.map;
  const valueId = reg.add(value);
  return { decl, type: { map: { hashers, key: reg.add(key), value: valueId } } as const, valueId };
}

function remapStorageType(
  t: { plain: number } | { map: { hashers: string[]; key: number; value: number } },
  remap: (id: number) => number,
) {
  if ('plain' in t) return { plain: remap(t.plain) };
  return { map: { hashers: t.map.hashers, key: remap(t.map.key), value: remap(t.map.value) } };
}
