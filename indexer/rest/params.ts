/**
 * gridproxy query parameters: each endpoint declares its parameters and their kinds; empty
 * values are ignored (grid_client always sends `features=`), lists are one comma-separated
 * value, `false` is a real filter, and anything malformed or unknown is a 400 naming the field.
 */
export type ParamKind = 'uint' | 'number' | 'bool' | 'string' | 'uints' | 'strings';
export type ParamSpec = Record<string, ParamKind>;
type Value<K extends ParamKind> = K extends 'uint' | 'number' ? number : K extends 'bool' ? boolean : K extends 'string' ? string : K extends 'uints' ? number[] : string[];
export type Parsed<S extends ParamSpec> = { [P in keyof S]?: Value<S[P]> };

export class BadRequest extends Error {}

/** An answer other than 200 with its error text (404 for unknown ids, 500 for what the store can't back). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Limit {
  page: number;
  size: number;
  retCount: boolean;
  randomize: boolean;
  sortBy: string | undefined;
  sortOrder: 'ASC' | 'DESC';
  /** USD the caller holds: gridproxy's staking discount on node prices (0: none). */
  balance: number;
}

const LIMIT: ParamSpec = { page: 'uint', size: 'uint', ret_count: 'bool', randomize: 'bool', sort_by: 'string', sort_order: 'string', balance: 'number' };

function parseUint(name: string, v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new BadRequest(`invalid ${name}: expected an unsigned integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

function parseOne(name: string, kind: ParamKind, raw: string): unknown {
  switch (kind) {
    case 'uint':
      return parseUint(name, raw);
    case 'number':
      if (!/^\d+(\.\d+)?$/.test(raw)) throw new BadRequest(`invalid ${name}: expected a non-negative number, got ${JSON.stringify(raw)}`);
      return Number(raw);
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw new BadRequest(`invalid ${name}: expected true or false, got ${JSON.stringify(raw)}`);
      return raw === 'true';
    case 'string':
      return raw;
    case 'uints':
      return raw.split(',').filter((s) => s !== '').map((s) => parseUint(name, s.trim()));
    case 'strings':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
}

/** Parses `query` against `spec` plus the paging parameters; `sortable` lists the accepted sort_by keys. */
export function parseQuery<S extends ParamSpec>(query: URLSearchParams, spec: S, sortable: readonly string[] = []): { filter: Parsed<S>; limit: Limit } {
  const filter: Record<string, unknown> = {};
  const lim: Record<string, unknown> = {};
  for (const [name, raw] of query) {
    if (raw === '') continue;
    const kind = spec[name] ?? LIMIT[name];
    if (!kind) throw new BadRequest(`unknown query parameter ${JSON.stringify(name)}`);
    (name in spec ? filter : lim)[name] = parseOne(name, kind, raw);
  }
  const size = (lim.size as number | undefined) ?? 50;
  const page = (lim.page as number | undefined) ?? 1;
  if (page < 1) throw new BadRequest('invalid page: pages start at 1');
  if (size < 1) throw new BadRequest('invalid size: must be at least 1');
  const sortBy = lim.sort_by as string | undefined;
  if (sortBy !== undefined && !sortable.includes(sortBy)) throw new BadRequest(`invalid sort_by: ${JSON.stringify(sortBy)} is not one of ${sortable.join(', ')}`);
  const order = ((lim.sort_order as string | undefined) ?? 'asc').toLowerCase();
  if (order !== 'asc' && order !== 'desc') throw new BadRequest(`invalid sort_order: expected asc or desc, got ${JSON.stringify(lim.sort_order)}`);
  return {
    filter: filter as Parsed<S>,
    limit: {
      page, size, retCount: lim.ret_count === true, randomize: lim.randomize === true, sortBy, sortOrder: order === 'desc' ? 'DESC' : 'ASC',
      balance: (lim.balance as number | undefined) ?? 0,
    },
  };
}

/** A WHERE clause being built: conditions ANDed, with their positional parameters. */
export class Where {
  readonly conds: string[] = [];
  readonly params: Array<string | number> = [];

  add(cond: string, ...params: Array<string | number>): this {
    this.conds.push(cond);
    this.params.push(...params);
    return this;
  }

  in(column: string, values: ReadonlyArray<string | number>): this {
    if (values.length === 0) return this.add('1 = 0');
    return this.add(`${column} IN (${values.map(() => '?').join(', ')})`, ...values);
  }

  get sql(): string {
    return this.conds.length ? `WHERE ${this.conds.join(' AND ')}` : '';
  }
}
