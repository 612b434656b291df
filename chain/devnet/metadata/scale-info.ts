/**
 * A small TypeScript vocabulary for scale-info types (the "lookup" of metadata V14).
 * Pallets declare their calls, events, errors and storage with these values; the
 * builder turns them into a PortableRegistry. Paths and params follow the Rust
 * definitions, because polkadot-js derives type names (PalletTfgridTwin ...) from them.
 */
export type Primitive = 'Bool' | 'Char' | 'Str' | 'U8' | 'U16' | 'U32' | 'U64' | 'U128' | 'U256' | 'I8' | 'I16' | 'I32' | 'I64' | 'I128';

export interface Field {
  name: string | null;
  type: Ty;
  typeName: string | null;
  docs?: string[];
}

export interface VariantDecl {
  name: string;
  index: number;
  fields: Field[];
  docs?: string[];
}

export interface Param {
  name: string;
  type: Ty | null;
}

export type TyDef =
  | { primitive: Primitive }
  | { compact: Ty }
  | { sequence: Ty }
  | { array: { len: number; type: Ty } }
  | { tuple: Ty[] }
  | { composite: Field[] }
  | { variant: VariantDecl[] };

export interface Ty {
  path: string[];
  params: Param[];
  def: TyDef;
  docs?: string[];
}

const anon = (def: TyDef): Ty => ({ path: [], params: [], def });

export const prim = (p: Primitive): Ty => anon({ primitive: p });
export const bool = prim('Bool');
export const str = prim('Str');
export const u8 = prim('U8');
export const u16 = prim('U16');
export const u32 = prim('U32');
export const u64 = prim('U64');
export const u128 = prim('U128');
export const compact = (t: Ty): Ty => anon({ compact: t });
export const seq = (t: Ty): Ty => anon({ sequence: t });
export const array = (len: number, t: Ty): Ty => anon({ array: { len, type: t } });
export const tuple = (...ts: Ty[]): Ty => anon({ tuple: ts });
export const unit = tuple();
export const bytes = seq(u8);

/** A field shorthand: [name, type, typeName]. */
export type FieldSpec = [name: string | null, type: Ty, typeName?: string | null];

export const fields = (specs: FieldSpec[]): Field[] =>
  specs.map(([name, type, typeName]) => ({ name, type, typeName: typeName ?? null }));

/** A named struct. `path` is the Rust path joined by `::`. */
export function struct(path: string, specs: FieldSpec[], params: Param[] = []): Ty {
  return { path: path.split('::'), params, def: { composite: fields(specs) } };
}

/** A named enum; variants are [name, fields] in index order unless an index is given. */
export function enumType(
  path: string,
  variants: Array<[name: string, specs?: FieldSpec[], index?: number]>,
  params: Param[] = [],
): Ty {
  return {
    path: path.split('::'),
    params,
    def: {
      variant: variants.map(([name, specs, index], i) => ({ name, index: index ?? i, fields: fields(specs ?? []) })),
    },
  };
}

/** Unit-only enum from a name list, index = position. */
export const simpleEnum = (path: string, names: string[], params: Param[] = []): Ty =>
  enumType(path, names.map((n) => [n] as [string]), params);

export const phantom = (...names: string[]): Param[] => names.map((name) => ({ name, type: null }));
export const param = (name: string, type: Ty): Param => ({ name, type });

export const option = (t: Ty): Ty =>
  enumType('Option', [['None'], ['Some', [[null, t]]]], [param('T', t)]);

export const result = (ok: Ty, err: Ty): Ty =>
  enumType('Result', [['Ok', [[null, ok]]], ['Err', [[null, err]]]], [param('T', ok), param('E', err)]);

export const boundedVec = (t: Ty): Ty =>
  struct('bounded_collections::bounded_vec::BoundedVec', [[null, seq(t), 'Vec<T>']], [param('T', t), { name: 'S', type: null }]);

export const weakBoundedVec = (t: Ty): Ty =>
  struct('bounded_collections::weak_bounded_vec::WeakBoundedVec', [[null, seq(t), 'Vec<T>']], [
    param('T', t),
    { name: 'S', type: null },
  ]);

/** A bounded byte string (BoundedVec<u8, S>) as most tfchain newtypes wrap. */
export const boundedBytes = boundedVec(u8);
