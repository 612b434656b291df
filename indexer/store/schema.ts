/**
 * The indexer's tables: tfchain entities as the GraphQL processor keeps them (snake_case, like
 * the Postgres that gridproxy reads), plus per-node derived columns kept current on every
 * contract event (used resources with the system reservation, active contract count, renter)
 * and the answers nodes give over RMB (health, features), and gridproxy's monthly price (price.ts;
 * NULL while the farm's pricing policy is unknown). One DDL for SQLite and PostgreSQL: numbers are
 * BIGINT (the price DOUBLE PRECISION), booleans 0/1 integers, lists JSON text.
 */
export const SCHEMA_VERSION = '2';

export const DDL = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS twins (
    twin_id BIGINT PRIMARY KEY, id TEXT NOT NULL, grid_version BIGINT NOT NULL,
    account_id TEXT NOT NULL, relay TEXT, public_key TEXT)`,
  `CREATE TABLE IF NOT EXISTS farms (
    farm_id BIGINT PRIMARY KEY, id TEXT NOT NULL, grid_version BIGINT NOT NULL, name TEXT NOT NULL,
    twin_id BIGINT NOT NULL, pricing_policy_id BIGINT NOT NULL, certification TEXT NOT NULL,
    stellar_address TEXT, dedicated_farm BIGINT NOT NULL DEFAULT 0,
    total_ips BIGINT NOT NULL DEFAULT 0, free_ips BIGINT NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS pricing_policies (
    pricing_policy_id BIGINT PRIMARY KEY, name TEXT NOT NULL, cu BIGINT NOT NULL, su BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS public_ips (
    id TEXT PRIMARY KEY, farm_id BIGINT NOT NULL, ip TEXT NOT NULL, gateway TEXT NOT NULL, contract_id BIGINT NOT NULL DEFAULT 0)`,
  `CREATE INDEX IF NOT EXISTS public_ips_farm ON public_ips (farm_id)`,
  `CREATE TABLE IF NOT EXISTS nodes (
    node_id BIGINT PRIMARY KEY, id TEXT NOT NULL, grid_version BIGINT NOT NULL, farm_id BIGINT NOT NULL, twin_id BIGINT NOT NULL,
    country TEXT NOT NULL, city TEXT NOT NULL, latitude TEXT NOT NULL, longitude TEXT NOT NULL,
    created BIGINT NOT NULL, farming_policy_id BIGINT NOT NULL, uptime BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, certification TEXT NOT NULL,
    secure BIGINT NOT NULL, virtualized BIGINT NOT NULL, serial_number TEXT, connection_price BIGINT NOT NULL,
    extra_fee BIGINT NOT NULL DEFAULT 0, power_state TEXT, power_target TEXT,
    total_hru BIGINT NOT NULL, total_sru BIGINT NOT NULL, total_cru BIGINT NOT NULL, total_mru BIGINT NOT NULL,
    public_config BIGINT NOT NULL DEFAULT 0, ipv4 TEXT NOT NULL DEFAULT '', gw4 TEXT NOT NULL DEFAULT '',
    ipv6 TEXT NOT NULL DEFAULT '', gw6 TEXT NOT NULL DEFAULT '', domain TEXT NOT NULL DEFAULT '',
    interfaces TEXT NOT NULL DEFAULT '[]',
    used_hru BIGINT NOT NULL DEFAULT 0, used_sru BIGINT NOT NULL DEFAULT 0, used_cru BIGINT NOT NULL DEFAULT 0,
    used_mru BIGINT NOT NULL DEFAULT 0, node_contracts BIGINT NOT NULL DEFAULT 0,
    rent_contract_id BIGINT NOT NULL DEFAULT 0, renter BIGINT NOT NULL DEFAULT 0,
    healthy BIGINT NOT NULL DEFAULT 0, has_ipv6 BIGINT NOT NULL DEFAULT 0, features TEXT NOT NULL DEFAULT '[]',
    workloads BIGINT NOT NULL DEFAULT 0, rmb_checked_at BIGINT NOT NULL DEFAULT 0, price_usd DOUBLE PRECISION)`,
  `CREATE INDEX IF NOT EXISTS nodes_farm ON nodes (farm_id)`,
  `CREATE INDEX IF NOT EXISTS nodes_twin ON nodes (twin_id)`,
  `CREATE TABLE IF NOT EXISTS node_contracts (
    contract_id BIGINT PRIMARY KEY, id TEXT NOT NULL, grid_version BIGINT NOT NULL, twin_id BIGINT NOT NULL, node_id BIGINT NOT NULL,
    deployment_data TEXT NOT NULL, deployment_hash TEXT NOT NULL, number_of_public_ips BIGINT NOT NULL,
    state TEXT NOT NULL, created_at BIGINT NOT NULL, solution_provider_id BIGINT,
    used_hru BIGINT NOT NULL DEFAULT 0, used_sru BIGINT NOT NULL DEFAULT 0, used_cru BIGINT NOT NULL DEFAULT 0, used_mru BIGINT NOT NULL DEFAULT 0)`,
  `CREATE INDEX IF NOT EXISTS node_contracts_twin ON node_contracts (twin_id, state)`,
  `CREATE INDEX IF NOT EXISTS node_contracts_node ON node_contracts (node_id, state)`,
  `CREATE TABLE IF NOT EXISTS name_contracts (
    contract_id BIGINT PRIMARY KEY, id TEXT NOT NULL, grid_version BIGINT NOT NULL, twin_id BIGINT NOT NULL, name TEXT NOT NULL,
    state TEXT NOT NULL, created_at BIGINT NOT NULL, solution_provider_id BIGINT)`,
  `CREATE INDEX IF NOT EXISTS name_contracts_twin ON name_contracts (twin_id, state)`,
  `CREATE TABLE IF NOT EXISTS rent_contracts (
    contract_id BIGINT PRIMARY KEY, id TEXT NOT NULL, grid_version BIGINT NOT NULL, twin_id BIGINT NOT NULL, node_id BIGINT NOT NULL,
    state TEXT NOT NULL, created_at BIGINT NOT NULL, solution_provider_id BIGINT)`,
  `CREATE INDEX IF NOT EXISTS rent_contracts_node ON rent_contracts (node_id, state)`,
  `CREATE TABLE IF NOT EXISTS contract_bill_reports (
    id TEXT PRIMARY KEY, contract_id BIGINT NOT NULL, discount_received TEXT NOT NULL, amount_billed TEXT NOT NULL, timestamp BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS contract_bill_reports_contract ON contract_bill_reports (contract_id, timestamp)`,
  `CREATE TABLE IF NOT EXISTS uptime_events (
    id TEXT PRIMARY KEY, node_id BIGINT NOT NULL, uptime BIGINT NOT NULL, timestamp BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS uptime_events_node ON uptime_events (node_id, timestamp)`,
];

/** Tables holding chain data (cleared before a resync from a state snapshot). */
export const CHAIN_TABLES = ['twins', 'pricing_policies', 'farms', 'public_ips', 'nodes', 'node_contracts', 'name_contracts', 'rent_contracts', 'contract_bill_reports', 'uptime_events'] as const;
