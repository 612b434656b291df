import type { Sql } from '../store/sql.ts';
import { discountedPriceSql, FARM_POLICY, priceUsdAnswer } from '../price.ts';
import { BadRequest, HttpError, parseQuery, Where, type Limit, type Parsed } from './params.ts';
import { countriesInRegion } from './regions.ts';

/**
 * gridproxy's node rules (indexer-apis §2.2) over the `nodes` and `farms` tables: status from
 * uptime reports and power, rented/rentable/dedicated from contracts and the farm, free
 * resources as total minus used (used already holds the system reservation), and the
 * `/nodes` filters as SQL.
 */

/** Node features gridproxy accepts in `features` (its validator plus the RMB network features). */
export const NODE_FEATURES = [
  'zmount', 'zdb', 'volume', 'ipv4', 'ip', 'gateway-name-proxy', 'gateway-fqdn-proxy', 'qsfs', 'zlogs', 'network', 'zmachine',
  'zmachine-light', 'network-light', 'wireguard', 'yggdrasil', 'mycelium',
] as const;

export const NODE_PARAMS = {
  status: 'strings', free_mru: 'uint', free_hru: 'uint', free_sru: 'uint', total_mru: 'uint', total_hru: 'uint', total_sru: 'uint',
  total_cru: 'uint', country: 'string', country_contains: 'string', city: 'string', city_contains: 'string', region: 'string',
  farm_name: 'string', farm_name_contains: 'string', farm_ids: 'uints', free_ips: 'uint', ipv4: 'bool', ipv6: 'bool', domain: 'bool',
  dedicated: 'bool', in_dedicated_farm: 'bool', rentable: 'bool', owned_by: 'uint', rented: 'bool', rented_by: 'uint',
  rentable_or_rented_by: 'uint', available_for: 'uint', node_id: 'uint', node_ids: 'uints', twin_id: 'uint', certification_type: 'string',
  has_gpu: 'bool', num_gpu: 'uint', gpu_device_id: 'string', gpu_device_name: 'string', gpu_vendor_id: 'string', gpu_vendor_name: 'string',
  gpu_available: 'bool', healthy: 'bool', excluded: 'uints', has_ipv6: 'bool', features: 'strings', price_min: 'number', price_max: 'number',
} as const;
export type NodeFilter = Parsed<typeof NODE_PARAMS>;

/** Seconds without an uptime report after which a node is down (gridproxy nodestatus). */
const UP_WINDOW = 80 * 60;
const STANDBY_WINDOW = 24 * 3600;

const POWER_UP = "(COALESCE(n.power_state, 'Up') = 'Up' AND COALESCE(n.power_target, 'Up') = 'Up')";
const STATUS = `(CASE WHEN n.updated_at >= ? AND ${POWER_UP} THEN 'up' WHEN n.updated_at >= ? AND NOT ${POWER_UP} THEN 'standby' ELSE 'down' END)`;
const RENTED = '(n.renter <> 0)';
const RENTABLE = '((f.dedicated_farm = 1 OR n.node_contracts = 0) AND n.renter = 0)';
const DEDICATED = '(f.dedicated_farm = 1 OR n.node_contracts = 0 OR n.renter <> 0 OR n.extra_fee > 0)';
const statusParams = (now: number) => [now - UP_WINDOW, now - STANDBY_WINDOW];

export function nodeStatus(row: { updated_at: number; power_state: string | null; power_target: string | null }, now: number): 'up' | 'standby' | 'down' {
  const up = (row.power_state ?? 'Up') === 'Up' && (row.power_target ?? 'Up') === 'Up';
  if (row.updated_at >= now - UP_WINDOW && up) return 'up';
  if (row.updated_at >= now - STANDBY_WINDOW && !up) return 'standby';
  return 'down';
}

const SORTS: Record<string, string> = {
  node_id: 'n.node_id', farm_id: 'n.farm_id', farm_name: 'f.name', twin_id: 'n.twin_id', uptime: 'n.uptime', created: 'n.created',
  updated_at: 'n.updated_at', country: 'n.country', city: 'n.city', rent_contract_id: 'n.rent_contract_id', dedicated_farm: 'f.dedicated_farm',
  total_cru: 'n.total_cru', total_sru: 'n.total_sru', total_hru: 'n.total_hru', total_mru: 'n.total_mru', used_cru: 'n.used_cru',
  used_sru: 'n.used_sru', used_hru: 'n.used_hru', used_mru: 'n.used_mru', num_gpu: '0', extra_fee: 'n.extra_fee', rented: RENTED,
  rentable: RENTABLE, free_cru: '(n.total_cru - n.used_cru)', status: 'status', price_usd: 'n.price_usd',
};
export const NODE_SORTS = Object.keys(SORTS);

const ci = (col: string) => `LOWER(${col}) = LOWER(?)`;
const contains = (col: string) => `LOWER(${col}) LIKE ?`;
const like = (v: string) => `%${v.toLowerCase().replace(/[%_]/g, '')}%`;
const flag = (w: Where, expr: string, v: boolean | undefined) => v !== undefined && w.add(v ? expr : `NOT ${expr}`);

/** Adds the node conditions of `f` (aliases n = nodes, f = farms) to `w`; prices are discounted for `balance` (USD). */
export function nodeConditions(w: Where, q: NodeFilter, now: number, balance = 0): Where {
  for (const feat of q.features ?? []) {
    if (!(NODE_FEATURES as readonly string[]).includes(feat)) throw new BadRequest(`invalid features: ${feat} is not a valid node feature`);
  }
  if (q.status?.length) w.add(`${STATUS} IN (${q.status.map(() => '?').join(', ')})`, ...statusParams(now), ...q.status.map((s) => s.toLowerCase()));
  const ge: Array<[number | undefined, string]> = [
    [q.free_mru, '(n.total_mru - n.used_mru)'], [q.free_hru, '(n.total_hru - n.used_hru)'], [q.free_sru, '(n.total_sru - n.used_sru)'],
    [q.total_mru, 'n.total_mru'], [q.total_hru, 'n.total_hru'], [q.total_sru, 'n.total_sru'], [q.total_cru, 'n.total_cru'], [q.free_ips, 'f.free_ips'],
  ];
  for (const [v, col] of ge) if (v !== undefined) w.add(`${col} >= ?`, v);
  if (q.country !== undefined) w.add(ci('n.country'), q.country);
  if (q.country_contains !== undefined) w.add(contains('n.country'), like(q.country_contains));
  if (q.city !== undefined) w.add(ci('n.city'), q.city);
  if (q.city_contains !== undefined) w.add(contains('n.city'), like(q.city_contains));
  if (q.region !== undefined) w.in('LOWER(n.country)', countriesInRegion(q.region));
  if (q.farm_name !== undefined) w.add(ci('f.name'), q.farm_name);
  if (q.farm_name_contains !== undefined) w.add(contains('f.name'), like(q.farm_name_contains));
  if (q.farm_ids) w.in('n.farm_id', q.farm_ids);
  if (q.node_ids) w.in('n.node_id', q.node_ids);
  if (q.excluded?.length) w.add(`n.node_id NOT IN (${q.excluded.map(() => '?').join(', ')})`, ...q.excluded);
  flag(w, "(n.ipv4 <> '')", q.ipv4);
  flag(w, "(n.ipv6 <> '')", q.ipv6);
  flag(w, "(n.domain <> '')", q.domain);
  flag(w, DEDICATED, q.dedicated);
  flag(w, '(f.dedicated_farm = 1)', q.in_dedicated_farm);
  flag(w, RENTABLE, q.rentable);
  flag(w, RENTED, q.rented);
  flag(w, '(n.healthy = 1)', q.healthy);
  flag(w, '(n.has_ipv6 = 1)', q.has_ipv6);
  // No GPU is indexed: a filter asking for one matches nothing.
  flag(w, '(1 = 0)', q.has_gpu ?? q.gpu_available);
  if (q.num_gpu || q.gpu_device_id || q.gpu_device_name || q.gpu_vendor_id || q.gpu_vendor_name) w.add('1 = 0');
  if (q.owned_by !== undefined) w.add('f.twin_id = ?', q.owned_by);
  if (q.rented_by !== undefined) w.add('n.renter = ?', q.rented_by);
  if (q.rentable_or_rented_by !== undefined) w.add(`(${RENTABLE} OR n.renter = ?)`, q.rentable_or_rented_by);
  if (q.available_for !== undefined) w.add('(n.renter = ? OR (n.renter = 0 AND f.dedicated_farm = 0 AND n.extra_fee = 0))', q.available_for);
  if (q.node_id !== undefined) w.add('n.node_id = ?', q.node_id);
  if (q.twin_id !== undefined) w.add('n.twin_id = ?', q.twin_id);
  if (q.certification_type !== undefined) w.add(ci('n.certification'), q.certification_type);
  for (const feat of q.features ?? []) w.add('n.features LIKE ?', `%"${feat}"%`);
  if (q.price_min !== undefined) w.add(`${discountedPriceSql('n.price_usd', balance)} >= ?`, q.price_min);
  if (q.price_max !== undefined) w.add(`${discountedPriceSql('n.price_usd', balance)} <= ?`, q.price_max);
  return w;
}

export interface NodeRow {
  node_id: number; id: string; grid_version: number; farm_id: number; twin_id: number; country: string; city: string;
  latitude: string; longitude: string; created: number; farming_policy_id: number; uptime: number; created_at: number;
  updated_at: number; certification: string; serial_number: string | null; extra_fee: number; power_state: string | null;
  power_target: string | null; total_hru: number; total_sru: number; total_cru: number; total_mru: number; ipv4: string;
  gw4: string; ipv6: string; gw6: string; domain: string; used_hru: number; used_sru: number; used_cru: number; used_mru: number;
  node_contracts: number; rent_contract_id: number; renter: number; healthy: number; features: string;
  farm_name: string; dedicated_farm: number; farm_free_ips: number; price_usd: number | null; policy_id: number;
}

const nodeSelect = (status = "''") => `SELECT n.*, f.name AS farm_name, f.dedicated_farm AS dedicated_farm, f.free_ips AS farm_free_ips,
  ${FARM_POLICY} AS policy_id, ${status} AS status FROM nodes n JOIN farms f ON f.farm_id = n.farm_id`;
const NODE_FROM = 'FROM nodes n JOIN farms f ON f.farm_id = n.farm_id';

const coord = (v: string) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

/**
 * A row as gridproxy's Node; `nested` gives the `/nodes/{id}` form with `capacity`. A node whose
 * farm's pricing policy is not on chain has no price: gridproxy's calc_price fails with this text.
 */
export function nodeJson(r: NodeRow, now: number, nested: boolean, balance = 0): Record<string, unknown> {
  if (r.price_usd === null) throw new HttpError(500, `pricing values not found for policy_id: ${String(r.policy_id)}`);
  const num = Number;
  const total = { cru: num(r.total_cru), sru: num(r.total_sru), hru: num(r.total_hru), mru: num(r.total_mru) };
  const used = { cru: num(r.used_cru), sru: num(r.used_sru), hru: num(r.used_hru), mru: num(r.used_mru) };
  const renter = num(r.renter);
  const dedicatedFarm = num(r.dedicated_farm) === 1;
  const contracts = num(r.node_contracts);
  const extraFee = num(r.extra_fee);
  return {
    id: r.id,
    nodeId: num(r.node_id),
    farmId: num(r.farm_id),
    farmName: r.farm_name,
    twinId: num(r.twin_id),
    country: r.country,
    gridVersion: num(r.grid_version),
    city: r.city,
    uptime: num(r.uptime),
    created: num(r.created),
    farmingPolicyId: num(r.farming_policy_id),
    updatedAt: num(r.updated_at),
    ...(nested ? { capacity: { total_resources: total, used_resources: used } } : { total_resources: total, used_resources: used }),
    location: { country: r.country, city: r.city, longitude: coord(r.longitude), latitude: coord(r.latitude) },
    publicConfig: { domain: r.domain, gw4: r.gw4, gw6: r.gw6, ipv4: r.ipv4, ipv6: r.ipv6 },
    status: nodeStatus(r, now),
    certificationType: r.certification,
    dedicated: dedicatedFarm || contracts === 0 || renter !== 0 || extraFee > 0,
    inDedicatedFarm: dedicatedFarm,
    rentContractId: num(r.rent_contract_id),
    rentedByTwinId: renter,
    rented: renter !== 0,
    rentable: (dedicatedFarm || contracts === 0) && renter === 0,
    serialNumber: r.serial_number ?? '',
    power: { state: r.power_state ?? '', target: r.power_target ?? '' },
    num_gpu: 0,
    extraFee,
    healthy: num(r.healthy) === 1,
    dmi: {},
    speed: {},
    gpus: [],
    price_usd: priceUsdAnswer(Number(r.price_usd), balance),
    farm_free_ips: num(r.farm_free_ips),
    features: JSON.parse(r.features) as string[],
  };
}

export interface Page<T> {
  items: T[];
  count: number | null;
}

/** ORDER BY / LIMIT for a parsed Limit over the given sort expressions. */
export function orderAndPage(limit: Limit, sorts: Record<string, string>, fallback: string, first: string[] = []): { sql: string; params: number[] } {
  const key = sorts[limit.sortBy ?? ''] ?? fallback;
  // The fallback breaks ties; repeating the sort key itself would cost SQLite an extra sort.
  const order = limit.randomize ? ['RANDOM()'] : [...first, `${key} ${limit.sortOrder}`, ...(key === fallback ? [] : [fallback])];
  return { sql: `ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`, params: [limit.size, (limit.page - 1) * limit.size] };
}

/** `/nodes` (and `/gateways` with `gatewaysOnly`). */
export async function listNodes(sql: Sql, query: URLSearchParams, now: number, gatewaysOnly = false): Promise<Page<Record<string, unknown>> & { limit: Limit }> {
  const { filter, limit } = parseQuery(query, NODE_PARAMS, NODE_SORTS);
  if (gatewaysOnly) Object.assign(filter, { domain: true, ipv4: true });
  const w = nodeConditions(new Where(), filter, now, limit.balance);
  const first = filter.available_for !== undefined ? ['(n.renter = ?) DESC'] : [];
  // gridproxy sorts by the price it answers: discounted for the balance.
  const page = orderAndPage(limit, { ...SORTS, price_usd: discountedPriceSql('n.price_usd', limit.balance) }, 'n.node_id', first);
  const rows = await sql.all<NodeRow & Record<string, unknown>>(`${nodeSelect(STATUS)} ${w.sql} ${page.sql}`, [
    ...statusParams(now),
    ...w.params,
    ...(first.length ? [filter.available_for!] : []),
    ...page.params,
  ]);
  const count = limit.retCount ? Number((await sql.all<{ c: number }>(`SELECT COUNT(*) AS c ${NODE_FROM} ${w.sql}`, w.params))[0]?.c ?? 0) : null;
  return { items: rows.map((r) => nodeJson(r, now, false, limit.balance)), count, limit };
}

/** `/nodes/{id}`: the nested form, or null. */
export async function getNode(sql: Sql, nodeId: number, now: number): Promise<Record<string, unknown> | null> {
  const [row] = await sql.all<NodeRow & Record<string, unknown>>(`${nodeSelect()} WHERE n.node_id = ?`, [nodeId]);
  return row ? nodeJson(row, now, true) : null;
}
