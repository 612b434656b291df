import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLError,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  Kind,
  type GraphQLFieldConfig,
  type GraphQLInputFieldConfig,
  type GraphQLInputType,
  type GraphQLNullableType,
  type GraphQLOutputType,
} from 'graphql';
import type { Param, Row, Sql } from '../store/sql.ts';
import { ENTITIES, ENUMS, type Column, type Entity, type EnumName } from './entities.ts';
import { orderSql, SCALAR_OPS, STRING_OPS, whereSql } from './where.ts';

/**
 * An OpenReader-compatible GraphQL schema (what tfchain_graphql serves and grid_client queries)
 * built with graphql-js over the store: per entity a list root with where/orderBy/offset/limit,
 * `<plural>Connection` (orderBy required) with totalCount, and `<singular>ById`. BigInt goes
 * out as a JSON string and accepts numbers or strings.
 */

const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  description: 'Big number integer, serialized as a string',
  serialize: (v) => String(v),
  parseValue: (v) => {
    if ((typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))) return String(v);
    throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(v)}`);
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || (ast.kind === Kind.STRING && /^-?\d+$/.test(ast.value))) return ast.value;
    throw new GraphQLError('BigInt literal must be an integer');
  },
});

const enums = Object.fromEntries(
  Object.entries(ENUMS).map(([name, values]) => [name, new GraphQLEnumType({ name, values: Object.fromEntries(values.map((v) => [v, { value: v }])) })]),
) as Record<EnumName, GraphQLEnumType>;

function scalarType(col: Column): GraphQLInputType & GraphQLOutputType {
  switch (col.type) {
    case 'ID':
      return GraphQLString;
    case 'Int':
      return GraphQLInt;
    case 'BigInt':
      return BigIntScalar;
    case 'String':
      return GraphQLString;
    case 'Boolean':
      return GraphQLBoolean;
    default:
      return enums[col.type];
  }
}

function outValue(col: Column, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (col.type === 'Boolean') return Number(v) === 1;
  if (col.type === 'Int') return Number(v);
  return v;
}

const nn = <T extends GraphQLNullableType>(t: T) => new GraphQLNonNull(t);

const PageInfo = new GraphQLObjectType({
  name: 'PageInfo',
  fields: {
    hasNextPage: { type: new GraphQLNonNull(GraphQLBoolean) },
    hasPreviousPage: { type: new GraphQLNonNull(GraphQLBoolean) },
    startCursor: { type: new GraphQLNonNull(GraphQLString) },
    endCursor: { type: new GraphQLNonNull(GraphQLString) },
  },
});

/** Nested objects of a Node and a NodeContract, built from the parent row (they live in its table here). */
const str = { type: GraphQLString };
const big = { type: nn(BigIntScalar) };
const objId = { type: nn(GraphQLString) };
const Location = new GraphQLObjectType({ name: 'Location', fields: { id: objId, longitude: str, latitude: str } });
const PublicConfig = new GraphQLObjectType({ name: 'PublicConfig', fields: { id: objId, ipv4: str, ipv6: str, gw4: str, gw6: str, domain: str } });
const NodeResourcesTotal = new GraphQLObjectType({ name: 'NodeResourcesTotal', fields: { id: objId, hru: big, sru: big, cru: big, mru: big } });
const Interfaces = new GraphQLObjectType({ name: 'Interfaces', fields: { id: objId, name: str, mac: str, ips: str } });
const NodePower = new GraphQLObjectType({ name: 'NodePower', fields: { state: str, target: str } });
const ContractResources = new GraphQLObjectType({ name: 'ContractResources', fields: { id: objId, hru: big, sru: big, cru: big, mru: big } });

const resources = (r: Row, id: string, p: 'total' | 'used') => ({
  id, hru: String(r[`${p}_hru`]), sru: String(r[`${p}_sru`]), cru: String(r[`${p}_cru`]), mru: String(r[`${p}_mru`]),
});

const NODE_EXTRAS: Record<string, GraphQLFieldConfig<Row, unknown>> = {
  location: { type: Location, resolve: (r) => ({ id: `${r.id}-location`, longitude: r.longitude, latitude: r.latitude }) },
  publicConfig: {
    type: PublicConfig,
    resolve: (r) =>
      Number(r.public_config) === 1 ? { id: `${r.id}-public-config`, ipv4: r.ipv4, ipv6: r.ipv6 || null, gw4: r.gw4, gw6: r.gw6 || null, domain: r.domain || null } : null,
  },
  resourcesTotal: { type: NodeResourcesTotal, resolve: (r) => resources(r, `${r.id}-resources`, 'total') },
  interfaces: {
    type: nn(new GraphQLList(nn(Interfaces))),
    resolve: (r) =>
      (JSON.parse(String(r.interfaces)) as Array<{ name: string; mac: string; ips: string[] }>).map((i, n) => ({
        id: `${r.id}-if-${n}`, name: i.name, mac: i.mac, ips: i.ips.join(','),
      })),
  },
  power: { type: NodePower, resolve: (r) => (r.power_state || r.power_target ? { state: r.power_state, target: r.power_target } : null) },
};

export function buildSchema(sql: Sql): GraphQLSchema {
  const types = new Map<string, GraphQLObjectType>();
  const query: Record<string, GraphQLFieldConfig<unknown, unknown>> = {};
  const byName = new Map(ENTITIES.map((e) => [e.name, e]));
  const list = async (e: Entity, where: string, params: Param[], order: string, limit: number | null, offset: number) => {
    const lim = limit === null ? '' : ` LIMIT ${Math.max(0, Math.floor(limit))}`;
    const off = offset ? `${lim ? '' : ' LIMIT -1'} OFFSET ${Math.max(0, Math.floor(offset))}` : '';
    return sql.all(`SELECT * FROM ${e.table} WHERE ${where} ${order}${lim}${off}`, params);
  };

  const extra = (e: Entity): Record<string, GraphQLFieldConfig<Row, unknown>> => {
    if (e.name === 'Node') return NODE_EXTRAS;
    if (e.name === 'Farm') {
      return {
        publicIPs: {
          type: nn(new GraphQLList(nn(types.get('PublicIp')!))),
          resolve: (r) => sql.all('SELECT * FROM public_ips WHERE farm_id = ? ORDER BY id', [Number(r.farm_id)]),
        },
      };
    }
    if (e.name === 'PublicIp') {
      return { farm: { type: types.get('Farm')!, resolve: async (r) => (await sql.all('SELECT * FROM farms WHERE farm_id = ?', [Number(r.farm_id)]))[0] ?? null } };
    }
    if (e.name === 'NodeContract') {
      return {
        resourcesUsed: {
          type: ContractResources,
          resolve: (r) => resources(r, `${r.id}-resources`, 'used'),
        },
      };
    }
    return {};
  };

  for (const e of ENTITIES) {
    types.set(
      e.name,
      new GraphQLObjectType<Row>({
        name: e.name,
        fields: () => ({
          ...Object.fromEntries(
            Object.entries(e.columns).map(([name, col]) => {
              const t = scalarType(col);
              return [name, { type: col.nullable ? t : nn(t), resolve: (r: Row) => outValue(col, col.value ? col.value(r) : r[col.sql]) }];
            }),
          ),
          ...extra(e),
        }),
      }),
    );
  }
  for (const e of ENTITIES) {
    const type = types.get(e.name)!;
    const whereFields: Record<string, GraphQLInputFieldConfig> = {};
    const where: GraphQLInputObjectType = new GraphQLInputObjectType({
      name: `${e.name}WhereInput`,
      fields: () => {
        for (const [name, col] of Object.entries(e.columns)) {
          const t = scalarType(col);
          for (const op of SCALAR_OPS) {
            if (col.type === 'Boolean' && !['eq', 'not_eq', 'isNull'].includes(op)) continue;
            whereFields[`${name}_${op}`] = { type: op === 'isNull' ? GraphQLBoolean : op.endsWith('in') ? new GraphQLList(nn(t)) : t };
          }
          if (col.type === 'String' || col.type === 'ID') for (const op of STRING_OPS) whereFields[`${name}_${op}`] = { type: GraphQLString };
        }
        whereFields.AND = { type: new GraphQLList(nn(where)) };
        whereFields.OR = { type: new GraphQLList(nn(where)) };
        return whereFields;
      },
    });
    const orderBy = new GraphQLEnumType({
      name: `${e.name}OrderByInput`,
      values: Object.fromEntries(Object.keys(e.columns).flatMap((f) => [[`${f}_ASC`, { value: `${f}_ASC` }], [`${f}_DESC`, { value: `${f}_DESC` }]])),
    });
    const edge = new GraphQLObjectType({ name: `${e.name}Edge`, fields: { node: { type: nn(type) }, cursor: { type: nn(GraphQLString) } } });
    const connection = new GraphQLObjectType({
      name: `${e.plural[0]!.toUpperCase()}${e.plural.slice(1)}Connection`,
      fields: { edges: { type: nn(new GraphQLList(nn(edge))) }, pageInfo: { type: nn(PageInfo) }, totalCount: { type: nn(GraphQLInt) } },
    });
    const entity = byName.get(e.name)!;
    query[e.plural] = {
      type: nn(new GraphQLList(nn(type))),
      args: { where: { type: where }, orderBy: { type: new GraphQLList(nn(orderBy)) }, offset: { type: GraphQLInt }, limit: { type: GraphQLInt } },
      resolve: (_s, a: { where?: Record<string, unknown>; orderBy?: unknown; offset?: number; limit?: number }) => {
        const params: Param[] = [];
        const w = whereSql(entity, a.where, params);
        return list(entity, w, params, orderSql(entity, a.orderBy), a.limit ?? null, a.offset ?? 0);
      },
    };
    query[`${e.plural}Connection`] = {
      type: nn(connection),
      args: {
        orderBy: { type: nn(new GraphQLList(nn(orderBy))) },
        after: { type: GraphQLString },
        first: { type: GraphQLInt },
        where: { type: where },
      },
      resolve: async (_s, a: { where?: Record<string, unknown>; orderBy: unknown; after?: string; first?: number }) => {
        const params: Param[] = [];
        const w = whereSql(entity, a.where, params);
        const offset = a.after ? Number(a.after) : 0;
        if (!Number.isSafeInteger(offset) || offset < 0) throw new GraphQLError(`invalid cursor ${JSON.stringify(a.after)}`);
        // Each part is computed only when selected (graphql-js calls function-valued fields):
        // grid_client's count queries must not read every row.
        const count = async () => Number((await sql.all<{ c: number }>(`SELECT COUNT(*) AS c FROM ${entity.table} WHERE ${w}`, params))[0]?.c ?? 0);
        let rows: Promise<Row[]> | null = null;
        const page = () => (rows ??= a.first === 0 ? Promise.resolve([]) : list(entity, w, params, orderSql(entity, a.orderBy), a.first ?? null, offset));
        const edges = async () => (await page()).map((node, i) => ({ node, cursor: String(offset + i + 1) }));
        return {
          totalCount: count,
          edges,
          pageInfo: async () => {
            const e = await edges();
            return {
              hasNextPage: offset + e.length < (await count()),
              hasPreviousPage: offset > 0,
              startCursor: e[0]?.cursor ?? '',
              endCursor: e[e.length - 1]?.cursor ?? '',
            };
          },
        };
      },
    };
    query[`${e.name[0]!.toLowerCase()}${e.name.slice(1)}ById`] = {
      type: type,
      args: { id: { type: nn(GraphQLString) } },
      resolve: async (_s, a: { id: string }) => (await sql.all(`SELECT * FROM ${entity.table} WHERE id = ?`, [a.id]))[0] ?? null,
    };
  }
  return new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: query }), types: [GraphQLID] });
}
