import type { Sql } from '../store/sql.ts';
import { nodeConditions, orderAndPage, type NodeFilter, type Page } from './nodes.ts';
import { parseQuery, Where } from './params.ts';

/** `/farms`: a `node_*` filter keeps a farm when at least one of its nodes matches all of them. */
const FARM_PARAMS = {
  free_ips: 'uint', total_ips: 'uint', pricing_policy_id: 'uint', version: 'uint', farm_id: 'uint', twin_id: 'uint', name: 'string',
  name_contains: 'string', certification_type: 'string', dedicated: 'bool', stellar_address: 'string', node_free_mru: 'uint',
  node_free_hru: 'uint', node_free_sru: 'uint', node_total_cru: 'uint', node_status: 'strings', node_rented_by: 'uint',
  node_available_for: 'uint', node_has_gpu: 'bool', node_certified: 'bool', node_has_ipv6: 'bool', node_features: 'strings',
  country: 'string', region: 'string', farm_name: 'string',
} as const;

const SORTS: Record<string, string> = {
  farm_id: 'f.farm_id', name: 'f.name', twin_id: 'f.twin_id', public_ips: 'f.total_ips', free_ips: 'f.free_ips', dedicated: 'f.dedicated_farm',
};

export async function listFarms(sql: Sql, query: URLSearchParams, now: number): Promise<Page<Record<string, unknown>>> {
  const { filter: q, limit } = parseQuery(query, FARM_PARAMS, Object.keys(SORTS));
  const w = new Where();
  if (q.free_ips !== undefined) w.add('f.free_ips >= ?', q.free_ips);
  if (q.total_ips !== undefined) w.add('f.total_ips >= ?', q.total_ips);
  if (q.pricing_policy_id !== undefined) w.add('f.pricing_policy_id = ?', q.pricing_policy_id);
  if (q.version !== undefined) w.add('f.grid_version = ?', q.version);
  if (q.farm_id !== undefined) w.add('f.farm_id = ?', q.farm_id);
  if (q.twin_id !== undefined) w.add('f.twin_id = ?', q.twin_id);
  const name = q.name ?? q.farm_name;
  if (name !== undefined) w.add('LOWER(f.name) = LOWER(?)', name);
  if (q.name_contains !== undefined) w.add('LOWER(f.name) LIKE ?', `%${q.name_contains.toLowerCase()}%`);
  if (q.certification_type !== undefined) w.add('LOWER(f.certification) = LOWER(?)', q.certification_type);
  if (q.dedicated !== undefined) w.add('f.dedicated_farm = ?', q.dedicated ? 1 : 0);
  if (q.stellar_address !== undefined) w.add('f.stellar_address = ?', q.stellar_address);
  const nodeFilter: NodeFilter = {
    free_mru: q.node_free_mru, free_hru: q.node_free_hru, free_sru: q.node_free_sru, total_cru: q.node_total_cru, status: q.node_status,
    rented_by: q.node_rented_by, available_for: q.node_available_for, has_gpu: q.node_has_gpu, has_ipv6: q.node_has_ipv6,
    features: q.node_features, country: q.country, region: q.region,
    certification_type: q.node_certified === undefined ? undefined : q.node_certified ? 'Certified' : 'Diy',
  };
  const nodeWhere = nodeConditions(new Where(), nodeFilter, now);
  if (nodeWhere.conds.length) w.add(`EXISTS (SELECT 1 FROM nodes n WHERE n.farm_id = f.farm_id AND ${nodeWhere.conds.join(' AND ')})`, ...nodeWhere.params);
  const page = orderAndPage(limit, SORTS, 'f.farm_id');
  const rows = await sql.all(`SELECT f.* FROM farms f ${w.sql} ${page.sql}`, [...w.params, ...page.params]);
  const count = limit.retCount ? Number((await sql.all<{ c: number }>(`SELECT COUNT(*) AS c FROM farms f ${w.sql}`, w.params))[0]?.c ?? 0) : null;
  const ids = rows.map((r) => Number(r.farm_id));
  const ips = ids.length
    ? await sql.all<{ id: string; farm_id: number; ip: string; gateway: string; contract_id: number }>(
        `SELECT * FROM public_ips WHERE farm_id IN (${ids.map(() => '?').join(', ')}) ORDER BY ip`,
        ids,
      )
    : [];
  const items = rows.map((r) => ({
    name: r.name,
    farmId: Number(r.farm_id),
    twinId: Number(r.twin_id),
    pricingPolicyId: Number(r.pricing_policy_id),
    certificationType: r.certification,
    stellarAddress: r.stellar_address ?? '',
    dedicated: Number(r.dedicated_farm) === 1,
    publicIps: ips
      .filter((ip) => Number(ip.farm_id) === Number(r.farm_id))
      .map((ip) => ({ id: ip.id, ip: ip.ip, farm_id: String(ip.farm_id), contract_id: Number(ip.contract_id), gateway: ip.gateway })),
  }));
  return { items, count };
}
