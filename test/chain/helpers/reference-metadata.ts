import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Metadata, TypeRegistry } from '@polkadot/types';

/**
 * The real tfchain spec-152 metadata from the shared folder next to the checkout (read at test
 * time, never copied); ZOS_SHARED_DIR names that folder for a checkout elsewhere (a git worktree).
 */
export const REFERENCE_PATH = process.env.ZOS_SHARED_DIR
  ? `${process.env.ZOS_SHARED_DIR}/tfchain/chainMeta-spec152.json`
  : fileURLToPath(new URL('../../../../shared/tfchain/chainMeta-spec152.json', import.meta.url));

export function loadReferenceV14(): any | null {
  if (!existsSync(REFERENCE_PATH)) return null;
  const hex = JSON.parse(readFileSync(REFERENCE_PATH, "utf8")).result as `0x${string}`;
  const reg = new TypeRegistry();
  return new Metadata(reg, hex).asV14.toJSON();
}

/**
 * A canonical, id-free description of a lookup type: path, params and def with
 * children expanded. The runtime-wide enums are cut to their path, since the two
 * sides implement different pallet sets.
 */
export function shape(v14: any, id: number, seen: Set<number> = new Set()): unknown {
  const t = v14.lookup.types[id].type;
  const path = (t.path as string[]).join('::');
  if (path === 'tfchain_runtime::RuntimeCall' || path === 'tfchain_runtime::RuntimeEvent' || seen.has(id)) return { ref: path || id };
  const next = new Set(seen).add(id);
  const child = (x: number) => shape(v14, x, next);
  const d = t.def;
  const params = (t.params as any[]).map((p) => [p.name, p.type === null ? null : child(p.type)]);
  const field = (f: any) => ({ name: f.name, type: child(f.type) });
  let def: unknown;
  if (d.primitive) def = { primitive: d.primitive };
  else if (d.compact) def = { compact: child(d.compact.type) };
  else if (d.sequence) def = { sequence: child(d.sequence.type) };
  else if (d.array) def = { array: [d.array.len, child(d.array.type)] };
  else if (d.tuple) def = { tuple: d.tuple.map(child) };
  else if (d.composite) def = { composite: d.composite.fields.map(field) };
  else if (d.variant) def = { variant: d.variant.variants.map((v: any) => ({ name: v.name, index: v.index, fields: v.fields.map(field) })) };
  else def = d;
  return { path, params, def };
}
