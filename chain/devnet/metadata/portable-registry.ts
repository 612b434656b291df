import type { Field, Ty, TyDef } from './scale-info.ts';

/** JSON form of a lookup entry, as MetadataV14 expects it. */
export interface PortableType {
  id: number;
  type: {
    path: string[];
    params: Array<{ name: string; type: number | null }>;
    def: Record<string, unknown>;
    docs: string[];
  };
}

interface Entry {
  key: string;
  json: PortableType['type'];
}

/**
 * Turns Ty declarations into a PortableRegistry. Named types get their id before
 * their children are visited, so recursive types (RuntimeCall inside utility.batch)
 * work; structurally identical types are merged and ids compacted at the end.
 */
export class PortableRegistryBuilder {
  private readonly byObject = new Map<Ty, number>();
  private readonly entries: Array<Entry | null> = [];
  private readonly byKey = new Map<string, number>();
  private readonly alias = new Map<number, number>();
  private sealed: { types: PortableType[]; remap: (id: number) => number } | null = null;

  add(ty: Ty): number {
    if (this.sealed) throw new Error('registry already built');
    const known = this.byObject.get(ty);
    if (known !== undefined) return known;
    const id = this.entries.length;
    this.entries.push(null);
    this.byObject.set(ty, id);
    const params = ty.params.map((p) => ({ name: p.name, type: p.type ? this.add(p.type) : null }));
    const def = this.encodeDef(ty.def);
    const json = { path: ty.path, params, def, docs: ty.docs ?? [] };
    const key = JSON.stringify([json.path, json.params.map((p) => [p.name, p.type === null ? null : this.canon(p.type)]), this.canonDef(def)]);
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      this.alias.set(id, existing);
      this.byObject.set(ty, existing);
      return existing;
    }
    this.byKey.set(key, id);
    this.entries[id] = { key, json };
    return id;
  }

  /** Final id of a type previously added. */
  idOf(ty: Ty): number {
    const id = this.byObject.get(ty);
    if (id === undefined) throw new Error(`type ${ty.path.join('::') || JSON.stringify(ty.def)} was not added`);
    return this.build().remap(id);
  }

  build(): { types: PortableType[]; remap: (id: number) => number } {
    if (this.sealed) return this.sealed;
    const newId = new Map<number, number>();
    this.entries.forEach((e, i) => {
      if (e) newId.set(i, newId.size);
    });
    const remap = (id: number): number => {
      const n = newId.get(this.canon(id));
      if (n === undefined) throw new Error(`dangling type id ${id}`);
      return n;
    };
    const types: PortableType[] = [];
    for (const e of this.entries) {
      if (!e) continue;
      types.push({
        id: types.length,
        type: {
          path: e.json.path,
          params: e.json.params.map((p) => ({ name: p.name, type: p.type === null ? null : remap(p.type) })),
          def: remapDef(e.json.def, remap),
          docs: e.json.docs,
        },
      });
    }
    this.sealed = { types, remap };
    return this.sealed;
  }

  private canon(id: number): number {
    let cur = id;
    while (this.alias.has(cur)) cur = this.alias.get(cur)!;
    return cur;
  }

  private canonDef(def: Record<string, unknown>): unknown {
    return remapDef(def, (id) => this.canon(id));
  }

  private field(f: Field): Record<string, unknown> {
    return { name: f.name, type: this.add(f.type), typeName: f.typeName, docs: f.docs ?? [] };
  }

  private encodeDef(def: TyDef): Record<string, unknown> {
    if ('primitive' in def) return { primitive: def.primitive };
    if ('compact' in def) return { compact: { type: this.add(def.compact) } };
    if ('sequence' in def) return { sequence: { type: this.add(def.sequence) } };
    if ('array' in def) return { array: { len: def.array.len, type: this.add(def.array.type) } };
    if ('tuple' in def) return { tuple: def.tuple.map((t) => this.add(t)) };
    if ('composite' in def) return { composite: { fields: def.composite.map((f) => this.field(f)) } };
    return {
      variant: {
        variants: def.variant.map((v) => ({ name: v.name, fields: v.fields.map((f) => this.field(f)), index: v.index, docs: v.docs ?? [] })),
      },
    };
  }
}

function remapDef(def: Record<string, unknown>, remap: (id: number) => number): Record<string, unknown> {
  const d = def as Record<string, any>;
  const field = (f: any) => ({ ...f, type: remap(f.type) });
  if (d.primitive) return { primitive: d.primitive };
  if (d.compact) return { compact: { type: remap(d.compact.type) } };
  if (d.sequence) return { sequence: { type: remap(d.sequence.type) } };
  if (d.array) return { array: { len: d.array.len, type: remap(d.array.type) } };
  if (d.tuple) return { tuple: d.tuple.map(remap) };
  if (d.composite) return { composite: { fields: d.composite.fields.map(field) } };
  return { variant: { variants: d.variant.variants.map((v: any) => ({ ...v, fields: v.fields.map(field) })) } };
}
