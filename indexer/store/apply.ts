import { u8aToHex } from '@polkadot/util';
import { ss58Address } from '../../chain/client/index.ts';
import type { Contract, Farm, Node } from '../../chain/client/types.ts';
import type { IndexerEvent } from '../events.ts';
import { FARM_POLICY, nodePriceUsd } from '../price.ts';
import type { Param, SqlTx } from './sql.ts';

/**
 * Chain events -> rows, in the order the chain emitted them (indexer-apis §3.2). Each handler
 * is an upsert or an update keyed by chain ids, so the mapping is deterministic; the follower
 * applies a whole block and its cursor in one transaction, which makes it lossless and
 * free of repeats across restarts.
 */

/** Where an event happened: entity ids are derived from it, times are block time. */
export interface EventPlace {
  block: number;
  blockHash: string;
  index: number;
  /** Block time, unix seconds. */
  at: number;
}

/** "0000000123-000001-ab12c": block, event index and hash prefix, like the GraphQL processor's ids. */
export function entityId(p: EventPlace): string {
  return `${String(p.block).padStart(10, '0')}-${String(p.index).padStart(6, '0')}-${p.blockHash.slice(2, 7)}`;
}

export const ACTIVE_STATES = ['Created', 'GracePeriod'] as const;
const GIB = 1024 ** 3;
/** gridproxy reserves this much SSD and memory for the node itself (setup.sql). */
const SYSTEM_SRU = 20 * GIB;
const systemMru = (totalMru: number) => Math.max(Math.floor(totalMru / 10), 2 * GIB);

const b = (v: boolean) => (v ? 1 : 0);

async function upsertTwin(tx: SqlTx, twin: { id: number; accountId: Uint8Array; relay: string | null; pk: Uint8Array | null }, id: string) {
  await tx.run(
    `INSERT INTO twins (twin_id, id, grid_version, account_id, relay, public_key) VALUES (?, ?, 1, ?, ?, ?)
     ON CONFLICT (twin_id) DO UPDATE SET account_id = excluded.account_id, relay = excluded.relay, public_key = excluded.public_key`,
    [twin.id, id, ss58Address(twin.accountId), twin.relay, twin.pk ? u8aToHex(twin.pk) : null],
  );
}

async function refreshFarmIps(tx: SqlTx, farmId: number) {
  await tx.run(
    `UPDATE farms SET total_ips = (SELECT COUNT(*) FROM public_ips WHERE farm_id = ?),
       free_ips = (SELECT COUNT(*) FROM public_ips WHERE farm_id = ? AND contract_id = 0) WHERE farm_id = ?`,
    [farmId, farmId, farmId],
  );
}

async function upsertFarm(tx: SqlTx, farm: Farm, id: string) {
  await tx.run(
    `INSERT INTO farms (farm_id, id, grid_version, name, twin_id, pricing_policy_id, certification, dedicated_farm)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (farm_id) DO UPDATE SET grid_version = excluded.grid_version, name = excluded.name, twin_id = excluded.twin_id,
       pricing_policy_id = excluded.pricing_policy_id, certification = excluded.certification, dedicated_farm = excluded.dedicated_farm`,
    [farm.id, id, farm.version, farm.name, farm.twinId, farm.pricingPolicyId, farm.certification, b(farm.dedicatedFarm)],
  );
  // The farm struct carries its whole IP list (with reservations): it replaces ours.
  await tx.run('DELETE FROM public_ips WHERE farm_id = ?', [farm.id]);
  for (const ip of farm.publicIps) {
    await tx.run('INSERT INTO public_ips (id, farm_id, ip, gateway, contract_id) VALUES (?, ?, ?, ?, ?)', [
      `${farm.id}-${ip.ip}`,
      farm.id,
      ip.ip,
      ip.gateway,
      ip.contractId,
    ]);
  }
  await refreshFarmIps(tx, farm.id);
}

async function upsertNode(tx: SqlTx, node: Node, id: string, at: number) {
  const lat = node.location.latitude;
  const cfg = node.publicConfig;
  await tx.run(
    `INSERT INTO nodes (node_id, id, grid_version, farm_id, twin_id, country, city, latitude, longitude, created, farming_policy_id,
       created_at, updated_at, certification, secure, virtualized, serial_number, connection_price,
       total_hru, total_sru, total_cru, total_mru, interfaces, public_config, ipv4, gw4, ipv6, gw6, domain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (node_id) DO UPDATE SET grid_version = excluded.grid_version, farm_id = excluded.farm_id, twin_id = excluded.twin_id,
       country = excluded.country, city = excluded.city, latitude = excluded.latitude, longitude = excluded.longitude,
       farming_policy_id = excluded.farming_policy_id, updated_at = excluded.updated_at, certification = excluded.certification,
       secure = excluded.secure, virtualized = excluded.virtualized, serial_number = excluded.serial_number,
       connection_price = excluded.connection_price, total_hru = excluded.total_hru, total_sru = excluded.total_sru,
       total_cru = excluded.total_cru, total_mru = excluded.total_mru, interfaces = excluded.interfaces,
       public_config = excluded.public_config, ipv4 = excluded.ipv4, gw4 = excluded.gw4, ipv6 = excluded.ipv6,
       gw6 = excluded.gw6, domain = excluded.domain`,
    [
      node.id, id, node.version, node.farmId, node.twinId, node.location.country, node.location.city, lat, node.location.longitude,
      node.created, node.farmingPolicyId, at, at, node.certification, b(node.secureBoot), b(node.virtualized), node.serialNumber,
      node.connectionPrice, node.resources.hru, node.resources.sru, node.resources.cru, node.resources.mru,
      JSON.stringify(node.interfaces), b(cfg !== null), cfg?.ip4.ip ?? '', cfg?.ip4.gw ?? '', cfg?.ip6?.ip ?? '', cfg?.ip6?.gw ?? '',
      cfg?.domain ?? '',
    ],
  );
}

/** Recomputes a node's derived columns from its active contracts (gridproxy's resources cache). */
export async function refreshNode(tx: SqlTx, nodeId: number): Promise<void> {
  const [node] = await tx.all<{ total_mru: number }>('SELECT total_mru FROM nodes WHERE node_id = ?', [nodeId]);
  if (!node) return;
  const [sum] = await tx.all<{ n: number; hru: number | null; sru: number | null; cru: number | null; mru: number | null }>(
    `SELECT COUNT(*) AS n, SUM(used_hru) AS hru, SUM(used_sru) AS sru, SUM(used_cru) AS cru, SUM(used_mru) AS mru
     FROM node_contracts WHERE node_id = ? AND state IN ('Created', 'GracePeriod')`,
    [nodeId],
  );
  const [rent] = await tx.all<{ contract_id: number; twin_id: number }>(
    `SELECT contract_id, twin_id FROM rent_contracts WHERE node_id = ? AND state IN ('Created', 'GracePeriod') ORDER BY contract_id DESC LIMIT 1`,
    [nodeId],
  );
  const num = (v: unknown) => Number(v ?? 0);
  await tx.run(
    `UPDATE nodes SET used_hru = ?, used_sru = ?, used_cru = ?, used_mru = ?, node_contracts = ?, rent_contract_id = ?, renter = ? WHERE node_id = ?`,
    [
      num(sum?.hru), num(sum?.sru) + SYSTEM_SRU, num(sum?.cru), num(sum?.mru) + systemMru(num(node.total_mru)),
      num(sum?.n), rent ? num(rent.contract_id) : 0, rent ? num(rent.twin_id) : 0, nodeId,
    ],
  );
}

/** Recomputes `price_usd` of the nodes matching `cond` (alias n, f = the node's farm); NULL while the policy is unknown. */
async function refreshPrices(tx: SqlTx, cond: string, params: Param[]): Promise<void> {
  const rows = await tx.all<{ node_id: number; cru: number; sru: number; hru: number; mru: number; certification: string; extra_fee: number; cu: number | null; su: number | null }>(
    `SELECT n.node_id, n.total_cru AS cru, n.total_sru AS sru, n.total_hru AS hru, n.total_mru AS mru, n.certification, n.extra_fee, p.cu, p.su
     FROM nodes n JOIN farms f ON f.farm_id = n.farm_id LEFT JOIN pricing_policies p ON p.pricing_policy_id = ${FARM_POLICY} WHERE ${cond}`,
    params,
  );
  for (const r of rows) {
    const price = r.cu === null || r.su === null ? null : nodePriceUsd({
      cru: Number(r.cru), sru: Number(r.sru), hru: Number(r.hru), mru: Number(r.mru), certified: r.certification === 'Certified',
      extraFee: Number(r.extra_fee), cu: Number(r.cu), su: Number(r.su),
    });
    await tx.run('UPDATE nodes SET price_usd = ? WHERE node_id = ?', [price, r.node_id]);
  }
}
const refreshNodePrice = (tx: SqlTx, nodeId: number) => refreshPrices(tx, 'n.node_id = ?', [nodeId]);

/** The node a contract sits on (node and rent contracts), or null. */
async function contractNode(tx: SqlTx, contractId: number): Promise<number | null> {
  const rows = await tx.all<{ node_id: number }>(
    'SELECT node_id FROM node_contracts WHERE contract_id = ? UNION ALL SELECT node_id FROM rent_contracts WHERE contract_id = ?',
    [contractId, contractId],
  );
  return rows[0] ? Number(rows[0].node_id) : null;
}

const stateName = (c: Contract) => c.state.kind;

async function createContract(tx: SqlTx, c: Contract, id: string, at: number) {
  const t = c.contractType;
  if (t.kind === 'NodeContract') {
    await tx.run(
      `INSERT INTO node_contracts (contract_id, id, grid_version, twin_id, node_id, deployment_data, deployment_hash, number_of_public_ips,
         state, created_at, solution_provider_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (contract_id) DO NOTHING`,
      [c.contractId, id, c.version, c.twinId, t.nodeId, t.deploymentData, t.deploymentHash, t.publicIps, stateName(c), at, c.solutionProviderId],
    );
    if (t.publicIpsList.length > 0) {
      const [n] = await tx.all<{ farm_id: number }>('SELECT farm_id FROM nodes WHERE node_id = ?', [t.nodeId]);
      if (n) {
        for (const ip of t.publicIpsList) {
          await tx.run('UPDATE public_ips SET contract_id = ? WHERE farm_id = ? AND ip = ?', [c.contractId, n.farm_id, ip.ip]);
        }
        await refreshFarmIps(tx, Number(n.farm_id));
      }
    }
    await refreshNode(tx, t.nodeId);
  } else if (t.kind === 'NameContract') {
    await tx.run(
      `INSERT INTO name_contracts (contract_id, id, grid_version, twin_id, name, state, created_at, solution_provider_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contract_id) DO NOTHING`,
      [c.contractId, id, c.version, c.twinId, t.name, stateName(c), at, c.solutionProviderId],
    );
  } else {
    await tx.run(
      `INSERT INTO rent_contracts (contract_id, id, grid_version, twin_id, node_id, state, created_at, solution_provider_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contract_id) DO NOTHING`,
      [c.contractId, id, c.version, c.twinId, t.nodeId, stateName(c), at, c.solutionProviderId],
    );
    await refreshNode(tx, t.nodeId);
  }
}

async function setContractState(tx: SqlTx, contractId: number, state: string) {
  for (const table of ['node_contracts', 'name_contracts', 'rent_contracts']) {
    await tx.run(`UPDATE ${table} SET state = ? WHERE contract_id = ?`, [state, contractId]);
  }
  const nodeId = await contractNode(tx, contractId);
  if (nodeId !== null) await refreshNode(tx, nodeId);
}

async function freeIps(tx: SqlTx, contractId: number) {
  const farms = await tx.all<{ farm_id: number }>('SELECT DISTINCT farm_id FROM public_ips WHERE contract_id = ?', [contractId]);
  await tx.run('UPDATE public_ips SET contract_id = 0 WHERE contract_id = ?', [contractId]);
  for (const f of farms) await refreshFarmIps(tx, Number(f.farm_id));
}

/** Applies one event; `place` gives its entity id and block time. */
export async function applyEvent(tx: SqlTx, e: IndexerEvent, place: EventPlace): Promise<void> {
  const id = entityId(place);
  switch (e.kind) {
    case 'TwinStored':
    case 'TwinUpdated':
      return upsertTwin(tx, e.twin, id);
    case 'TwinDeleted':
      return tx.run('DELETE FROM twins WHERE twin_id = ?', [e.twinId]);
    case 'FarmStored':
    case 'FarmUpdated':
      await upsertFarm(tx, e.farm, id);
      return refreshPrices(tx, 'f.farm_id = ?', [e.farm.id]);
    case 'PricingPolicyStored':
      await tx.run(
        `INSERT INTO pricing_policies (pricing_policy_id, name, cu, su) VALUES (?, ?, ?, ?)
         ON CONFLICT (pricing_policy_id) DO UPDATE SET name = excluded.name, cu = excluded.cu, su = excluded.su`,
        [e.policy.id, e.policy.name, e.policy.cu.value, e.policy.su.value],
      );
      return refreshPrices(tx, `${FARM_POLICY} = ?`, [e.policy.id]);
    case 'FarmDeleted':
      await tx.run('DELETE FROM public_ips WHERE farm_id = ?', [e.farmId]);
      return tx.run('DELETE FROM farms WHERE farm_id = ?', [e.farmId]);
    case 'FarmPayoutV2AddressRegistered':
      return tx.run('UPDATE farms SET stellar_address = ? WHERE farm_id = ?', [e.address, e.farmId]);
    case 'FarmCertificationSet':
      return tx.run('UPDATE farms SET certification = ? WHERE farm_id = ?', [e.certification, e.farmId]);
    case 'FarmMarkedAsDedicated':
      return tx.run('UPDATE farms SET dedicated_farm = 1 WHERE farm_id = ?', [e.farmId]);
    case 'NodeStored':
    case 'NodeUpdated':
      await upsertNode(tx, e.node, id, place.at);
      await refreshNodePrice(tx, e.node.id);
      return refreshNode(tx, e.node.id);
    case 'NodeDeleted':
      return tx.run('DELETE FROM nodes WHERE node_id = ?', [e.nodeId]);
    case 'NodeUptimeReported':
      await tx.run('UPDATE nodes SET uptime = ?, updated_at = ? WHERE node_id = ?', [e.uptime, place.at, e.nodeId]);
      return tx.run('INSERT INTO uptime_events (id, node_id, uptime, timestamp) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING', [
        id,
        e.nodeId,
        e.uptime,
        e.now,
      ]);
    case 'NodePublicConfigStored': {
      const c = e.config;
      return tx.run('UPDATE nodes SET public_config = ?, ipv4 = ?, gw4 = ?, ipv6 = ?, gw6 = ?, domain = ? WHERE node_id = ?', [
        b(c !== null), c?.ip4.ip ?? '', c?.ip4.gw ?? '', c?.ip6?.ip ?? '', c?.ip6?.gw ?? '', c?.domain ?? '', e.nodeId,
      ]);
    }
    case 'NodeCertificationSet':
      await tx.run('UPDATE nodes SET certification = ? WHERE node_id = ?', [e.certification, e.nodeId]);
      return refreshNodePrice(tx, e.nodeId);
    case 'PowerTargetChanged':
      return tx.run('UPDATE nodes SET power_target = ? WHERE node_id = ?', [e.target, e.nodeId]);
    case 'PowerStateChanged':
      return tx.run('UPDATE nodes SET power_state = ? WHERE node_id = ?', [e.state, e.nodeId]);
    case 'NodeExtraFeeSet':
      await tx.run('UPDATE nodes SET extra_fee = ? WHERE node_id = ?', [e.extraFee, e.nodeId]);
      return refreshNodePrice(tx, e.nodeId);
    case 'ContractCreated':
      return createContract(tx, e.contract, id, place.at);
    case 'ContractUpdated': {
      const c = e.contract;
      const t = c.contractType;
      if (t.kind === 'NodeContract') {
        await tx.run(
          'UPDATE node_contracts SET deployment_data = ?, deployment_hash = ?, number_of_public_ips = ?, solution_provider_id = ? WHERE contract_id = ?',
          [t.deploymentData, t.deploymentHash, t.publicIps, c.solutionProviderId, c.contractId],
        );
      }
      return setContractState(tx, c.contractId, stateName(c));
    }
    case 'NodeContractCanceled':
      await freeIps(tx, e.contractId);
      return setContractState(tx, e.contractId, 'Deleted');
    case 'NameContractCanceled':
    case 'RentContractCanceled':
      return setContractState(tx, e.contractId, 'Deleted');
    case 'IPsFreed':
      return freeIps(tx, e.contractId);
    case 'ContractGracePeriodStarted':
      return setContractState(tx, e.contractId, 'GracePeriod');
    case 'ContractGracePeriodEnded':
      return setContractState(tx, e.contractId, 'Created');
    case 'UpdatedUsedResources': {
      const u = e.used;
      await tx.run('UPDATE node_contracts SET used_hru = ?, used_sru = ?, used_cru = ?, used_mru = ? WHERE contract_id = ?', [
        u.hru, u.sru, u.cru, u.mru, e.contractId,
      ]);
      const nodeId = await contractNode(tx, e.contractId);
      if (nodeId !== null) await refreshNode(tx, nodeId);
      return;
    }
    case 'ContractBilled':
      return tx.run(
        'INSERT INTO contract_bill_reports (id, contract_id, discount_received, amount_billed, timestamp) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        [id, e.contractId, e.discountLevel, e.amountBilled.toString(), e.timestamp],
      );
  }
}
