import type { Sql } from '../store/sql.ts';
import { nodeConditions } from './nodes.ts';
import { parseQuery, Where } from './params.ts';

/** `/stats`: grid totals; the node figures follow the `status` filter, like gridproxy's counters. */
export async function stats(sql: Sql, query: URLSearchParams, now: number): Promise<Record<string, unknown>> {
  const { filter } = parseQuery(query, { status: 'strings' } as const);
  const w = nodeConditions(new Where(), { status: filter.status }, now);
  const from = `FROM nodes n JOIN farms f ON f.farm_id = n.farm_id ${w.sql}`;
  const [n] = await sql.all(
    `SELECT COUNT(*) AS nodes, COUNT(DISTINCT n.country) AS countries, SUM(n.total_cru) AS cru, SUM(n.total_sru) AS sru,
       SUM(n.total_mru) AS mru, SUM(n.total_hru) AS hru,
       SUM(CASE WHEN n.ipv4 <> '' OR n.ipv6 <> '' THEN 1 ELSE 0 END) AS access,
       SUM(CASE WHEN n.domain <> '' AND n.ipv4 <> '' THEN 1 ELSE 0 END) AS gateways,
       SUM(CASE WHEN f.dedicated_farm = 1 OR n.extra_fee > 0 THEN 1 ELSE 0 END) AS dedicated,
       SUM(n.workloads) AS workloads ${from}`,
    w.params,
  );
  const dist = await sql.all<{ country: string; c: number }>(`SELECT n.country AS country, COUNT(*) AS c ${from} GROUP BY n.country`, w.params);
  const [g] = await sql.all(
    `SELECT (SELECT COUNT(*) FROM farms) AS farms, (SELECT COUNT(*) FROM public_ips) AS ips, (SELECT COUNT(*) FROM twins) AS twins,
       (SELECT COUNT(*) FROM node_contracts WHERE state <> 'Deleted') + (SELECT COUNT(*) FROM name_contracts WHERE state <> 'Deleted')
       + (SELECT COUNT(*) FROM rent_contracts WHERE state <> 'Deleted') AS contracts`,
  );
  const num = (v: unknown) => Number(v ?? 0);
  const pick = (row: Record<string, unknown> | undefined, keys: Record<string, string>) =>
    Object.fromEntries(Object.entries(keys).map(([out, col]) => [out, num(row?.[col])]));
  return {
    ...pick(n, { nodes: 'nodes' }),
    ...pick(g, { farms: 'farms' }),
    ...pick(n, { countries: 'countries', totalCru: 'cru', totalSru: 'sru', totalMru: 'mru', totalHru: 'hru' }),
    ...pick(g, { publicIps: 'ips' }),
    ...pick(n, { accessNodes: 'access', gateways: 'gateways' }),
    ...pick(g, { twins: 'twins', contracts: 'contracts' }),
    nodesDistribution: Object.fromEntries(dist.map((d) => [d.country, num(d.c)])),
    gpus: 0,
    dedicatedNodes: num(n?.dedicated),
    workloads_number: num(n?.workloads),
  };
}
