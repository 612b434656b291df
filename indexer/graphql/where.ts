import { GraphQLError } from 'graphql';
import type { Param } from '../store/sql.ts';
import type { Column, Entity } from './entities.ts';

/**
 * OpenReader `where` and `orderBy` -> SQL. Operators are `<field>_<op>`; `AND`/`OR` take
 * lists of the same input. The schema has already type-checked the input, so this only
 * maps names (an unknown one is still a GraphQL error, never a crash).
 */
export const SCALAR_OPS = ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'isNull'] as const;
export const STRING_OPS = ['contains', 'not_contains', 'containsInsensitive', 'startsWith', 'not_startsWith', 'endsWith', 'not_endsWith'] as const;

const CMP: Record<string, string> = { eq: '=', not_eq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

function param(col: Column, v: unknown): Param {
  if (col.type === 'Boolean') return v ? 1 : 0;
  if (col.type === 'BigInt' && col.sql === 'amount_billed') return String(v);
  if (col.type === 'BigInt' || col.type === 'Int') return Number(v);
  return String(v);
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

export function whereSql(entity: Entity, where: Record<string, unknown> | null | undefined, params: Param[]): string {
  if (!where) return '1 = 1';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (key === 'AND' || key === 'OR') {
      const list = (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown>>;
      if (list.length === 0) continue;
      parts.push(`(${list.map((w) => whereSql(entity, w, params)).join(key === 'AND' ? ' AND ' : ' OR ')})`);
      continue;
    }
    const i = key.indexOf('_');
    const field = i < 0 ? key : key.slice(0, i);
    const op = i < 0 ? '' : key.slice(i + 1);
    const col = entity.columns[field];
    if (!col) throw new GraphQLError(`unknown filter field ${key} on ${entity.name}`);
    const s = col.sql;
    if (op in CMP) {
      if (value === null) throw new GraphQLError(`${key} cannot be null`);
      parts.push(`${s} ${CMP[op]} ?`);
      params.push(param(col, value));
    } else if (op === 'in' || op === 'not_in') {
      const list = (value as unknown[]) ?? [];
      if (list.length === 0) parts.push(op === 'in' ? '1 = 0' : '1 = 1');
      else {
        parts.push(`${s} ${op === 'in' ? 'IN' : 'NOT IN'} (${list.map(() => '?').join(', ')})`);
        params.push(...list.map((v) => param(col, v)));
      }
    } else if (op === 'isNull') {
      parts.push(value ? `${s} IS NULL` : `${s} IS NOT NULL`);
    } else if ((STRING_OPS as readonly string[]).includes(op)) {
      const v = escapeLike(String(value));
      const not = op.startsWith('not_') ? 'NOT ' : '';
      const base = op.replace(/^not_/, '');
      const pattern = base === 'startsWith' ? `${v}%` : base === 'endsWith' ? `%${v}` : `%${v}%`;
      // contains is case-sensitive in OpenReader; SQLite's LIKE is not, so compare with instr() (PostgreSQL gets one, store/postgres.ts).
      if (base === 'contains') parts.push(`${not}(instr(${s}, ?) > 0)`), params.push(String(value));
      else if (base === 'containsInsensitive') parts.push(`LOWER(${s}) LIKE LOWER(?) ESCAPE '\\'`), params.push(pattern);
      // substr(s, length(s) - n + 1): SQLite's negative start has no PostgreSQL twin.
      else parts.push(`${not}(substr(${s}, ${base === 'startsWith' ? '1, ?' : `length(${s}) - ? + 1`}) = ?)`), params.push(String(value).length, String(value));
    } else {
      throw new GraphQLError(`unknown filter ${key} on ${entity.name}`);
    }
  }
  return parts.length ? parts.join(' AND ') : '1 = 1';
}

/** `field_ASC` / `field_DESC` (one value or a list) -> ORDER BY, with the id as tie-breaker. */
export function orderSql(entity: Entity, orderBy: unknown): string {
  const list = (Array.isArray(orderBy) ? orderBy : orderBy ? [orderBy] : []) as string[];
  const parts = list.map((o) => {
    const m = /^(.+)_(ASC|DESC)(?:_NULLS_(?:FIRST|LAST))?$/.exec(o);
    const col = m ? entity.columns[m[1]!] : undefined;
    if (!m || !col) throw new GraphQLError(`unknown orderBy ${o} on ${entity.name}`);
    return `${col.sql} ${m[2]}`;
  });
  return `ORDER BY ${[...parts, `${entity.columns.id!.sql} ASC`].join(', ')}`;
}
