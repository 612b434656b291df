import type { Sql } from '../store/sql.ts';
import { orderAndPage, type Page } from './nodes.ts';
import { parseQuery, Where } from './params.ts';

/** `/contracts` and `/contracts/{id}`: node, name and rent contracts as one list. */
const CONTRACT_PARAMS = {
  contract_id: 'uint', twin_id: 'uint', node_id: 'uint', type: 'string', state: 'strings', name: 'string', number_of_public_ips: 'uint',
  deployment_data: 'string', deployment_hash: 'string', farm_name: 'string', farm_id: 'uint',
} as const;

const ALL = `(SELECT contract_id, twin_id, state, created_at, 'node' AS type, node_id, '' AS name, deployment_data, deployment_hash,
    number_of_public_ips FROM node_contracts
  UNION ALL SELECT contract_id, twin_id, state, created_at, 'name', 0, name, '', '', 0 FROM name_contracts
  UNION ALL SELECT contract_id, twin_id, state, created_at, 'rent', node_id, '', '', '', 0 FROM rent_contracts) c
  LEFT JOIN nodes n ON n.node_id = c.node_id LEFT JOIN farms f ON f.farm_id = n.farm_id`;

const SORTS: Record<string, string> = { contract_id: 'c.contract_id', twin_id: 'c.twin_id', created_at: 'c.created_at', state: 'c.state', type: 'c.type' };

interface ContractRow {
  contract_id: number; twin_id: number; state: string; created_at: number; type: 'node' | 'name' | 'rent'; node_id: number; name: string;
  deployment_data: string; deployment_hash: string; number_of_public_ips: number; farm_name: string | null; farm_id: number | null;
}

function contractJson(r: ContractRow): Record<string, unknown> {
  const farm = { farm_name: r.farm_name ?? '', farm_id: Number(r.farm_id ?? 0) };
  const details =
    r.type === 'node'
      ? { nodeId: Number(r.node_id), deployment_data: r.deployment_data, deployment_hash: r.deployment_hash, number_of_public_ips: Number(r.number_of_public_ips), ...farm }
      : r.type === 'name'
        ? { name: r.name }
        : { nodeId: Number(r.node_id), ...farm };
  return { contract_id: Number(r.contract_id), twin_id: Number(r.twin_id), state: r.state, created_at: Number(r.created_at), type: r.type, details };
}

const SELECT = `SELECT c.*, f.name AS farm_name, f.farm_id AS farm_id FROM ${ALL}`;

export async function listContracts(sql: Sql, query: URLSearchParams): Promise<Page<Record<string, unknown>>> {
  const { filter: q, limit } = parseQuery(query, CONTRACT_PARAMS, Object.keys(SORTS));
  const w = new Where();
  if (q.contract_id !== undefined) w.add('c.contract_id = ?', q.contract_id);
  if (q.twin_id !== undefined) w.add('c.twin_id = ?', q.twin_id);
  if (q.node_id !== undefined) w.add("c.node_id = ? AND c.type <> 'name'", q.node_id);
  if (q.type !== undefined) w.add('c.type = LOWER(?)', q.type);
  if (q.state?.length) w.in('LOWER(c.state)', q.state.map((s) => s.toLowerCase()));
  if (q.name !== undefined) w.add('c.name = ?', q.name);
  if (q.number_of_public_ips !== undefined) w.add('c.number_of_public_ips >= ?', q.number_of_public_ips);
  if (q.deployment_data !== undefined) w.add('c.deployment_data = ?', q.deployment_data);
  if (q.deployment_hash !== undefined) w.add('c.deployment_hash = ?', q.deployment_hash);
  if (q.farm_name !== undefined) w.add('LOWER(f.name) = LOWER(?)', q.farm_name);
  if (q.farm_id !== undefined) w.add('f.farm_id = ?', q.farm_id);
  const page = orderAndPage(limit, SORTS, 'c.contract_id');
  const rows = await sql.all<ContractRow & Record<string, unknown>>(`${SELECT} ${w.sql} ${page.sql}`, [...w.params, ...page.params]);
  const count = limit.retCount ? Number((await sql.all<{ c: number }>(`SELECT COUNT(*) AS c FROM ${ALL} ${w.sql}`, w.params))[0]?.c ?? 0) : null;
  return { items: rows.map(contractJson), count };
}

export async function getContract(sql: Sql, contractId: number): Promise<Record<string, unknown> | null> {
  const [row] = await sql.all<ContractRow & Record<string, unknown>>(`${SELECT} WHERE c.contract_id = ?`, [contractId]);
  return row ? contractJson(row) : null;
}

/** `/twins`. */
const TWIN_PARAMS = { twin_id: 'uint', account_id: 'string', relay: 'string', public_key: 'string' } as const;

export async function listTwins(sql: Sql, query: URLSearchParams): Promise<Page<Record<string, unknown>>> {
  const { filter: q, limit } = parseQuery(query, TWIN_PARAMS, ['twin_id']);
  const w = new Where();
  if (q.twin_id !== undefined) w.add('t.twin_id = ?', q.twin_id);
  if (q.account_id !== undefined) w.add('t.account_id = ?', q.account_id);
  if (q.relay !== undefined) w.add('t.relay = ?', q.relay);
  if (q.public_key !== undefined) w.add('t.public_key = ?', q.public_key);
  const page = orderAndPage(limit, { twin_id: 't.twin_id' }, 't.twin_id');
  const rows = await sql.all(`SELECT t.* FROM twins t ${w.sql} ${page.sql}`, [...w.params, ...page.params]);
  const count = limit.retCount ? Number((await sql.all<{ c: number }>(`SELECT COUNT(*) AS c FROM twins t ${w.sql}`, w.params))[0]?.c ?? 0) : null;
  const items = rows.map((r) => ({ twinId: Number(r.twin_id), accountId: r.account_id, relay: r.relay ?? '', publicKey: r.public_key ?? '' }));
  return { items, count };
}
