/**
 * The tfchain_graphql entities (indexer-apis §3.2) as column maps over the store's tables.
 * schema.ts turns each into an OpenReader-style list root, a `<plural>Connection` root, a
 * `<singular>ById` root, a where input and an orderBy enum.
 */
export type Scalar = 'ID' | 'Int' | 'BigInt' | 'String' | 'Boolean';
export type EnumName = 'ContractState' | 'FarmCertification' | 'NodeCertification' | 'DiscountLevel';

export const ENUMS: Record<EnumName, string[]> = {
  ContractState: ['Created', 'Deleted', 'OutOfFunds', 'GracePeriod'],
  FarmCertification: ['NotCertified', 'Gold'],
  NodeCertification: ['Diy', 'Certified'],
  DiscountLevel: ['None', 'Default', 'Bronze', 'Silver', 'Gold'],
};

export interface Column {
  /** SQL column or expression over the entity's table. */
  sql: string;
  type: Scalar | EnumName;
  nullable?: boolean;
  /** For an SQL expression: its value from the row. */
  value?: (row: Record<string, unknown>) => unknown;
}

export interface Entity {
  name: string;
  plural: string;
  table: string;
  columns: Record<string, Column>;
}

const c = (sql: string, type: Column['type'], nullable = false): Column => ({ sql, type, nullable });
const chain = { id: c('id', 'ID'), gridVersion: c('grid_version', 'Int') };

/** Node, name and rent contracts share their contract columns. */
function contractEntity(name: string, table: string, own: Record<string, Column>): Entity {
  const columns = {
    ...chain, contractID: c('contract_id', 'BigInt'), twinID: c('twin_id', 'Int'), ...own, state: c('state', 'ContractState'),
    createdAt: c('created_at', 'BigInt'), solutionProviderID: c('solution_provider_id', 'Int', true),
  };
  return { name, plural: `${name[0]!.toLowerCase()}${name.slice(1)}s`, table, columns };
}

export const ENTITIES: Entity[] = [
  {
    name: 'Twin',
    plural: 'twins',
    table: 'twins',
    columns: { ...chain, twinID: c('twin_id', 'Int'), accountID: c('account_id', 'String'), relay: c('relay', 'String', true), publicKey: c('public_key', 'String', true) },
  },
  {
    name: 'Farm',
    plural: 'farms',
    table: 'farms',
    columns: {
      ...chain, farmID: c('farm_id', 'Int'), name: c('name', 'String'), twinID: c('twin_id', 'Int'), pricingPolicyID: c('pricing_policy_id', 'Int'),
      certification: c('certification', 'FarmCertification', true), stellarAddress: c('stellar_address', 'String', true),
      dedicatedFarm: c('dedicated_farm', 'Boolean', true),
    },
  },
  {
    name: 'PublicIp',
    plural: 'publicIps',
    table: 'public_ips',
    columns: { id: c('id', 'ID'), gateway: c('gateway', 'String'), ip: c('ip', 'String'), contractId: c('contract_id', 'BigInt') },
  },
  {
    name: 'Node',
    plural: 'nodes',
    table: 'nodes',
    columns: {
      ...chain, nodeID: c('node_id', 'Int'), farmID: c('farm_id', 'Int'), twinID: c('twin_id', 'Int'), country: c('country', 'String', true),
      city: c('city', 'String', true), uptime: c('uptime', 'BigInt', true), created: c('created', 'Int'), farmingPolicyId: c('farming_policy_id', 'Int'),
      certification: c('certification', 'NodeCertification', true), secure: c('secure', 'Boolean', true), virtualized: c('virtualized', 'Boolean', true),
      serialNumber: c('serial_number', 'String', true), createdAt: c('created_at', 'BigInt'), updatedAt: c('updated_at', 'BigInt'),
      connectionPrice: c('connection_price', 'Int', true), extraFee: c('extra_fee', 'BigInt', true), dedicated: { sql: '(extra_fee > 0)', type: 'Boolean', value: (r) => (Number(r.extra_fee) > 0 ? 1 : 0) },
    },
  },
  contractEntity('NodeContract', 'node_contracts', {
    nodeID: c('node_id', 'Int'), deploymentData: c('deployment_data', 'String'), deploymentHash: c('deployment_hash', 'String'),
    numberOfPublicIPs: c('number_of_public_ips', 'Int'),
  }),
  contractEntity('NameContract', 'name_contracts', { name: c('name', 'String') }),
  contractEntity('RentContract', 'rent_contracts', { nodeID: c('node_id', 'Int') }),
  {
    name: 'ContractBillReport',
    plural: 'contractBillReports',
    table: 'contract_bill_reports',
    columns: {
      id: c('id', 'ID'), contractID: c('contract_id', 'BigInt'), discountReceived: c('discount_received', 'DiscountLevel'),
      amountBilled: c('amount_billed', 'BigInt'), timestamp: c('timestamp', 'BigInt'),
    },
  },
  {
    name: 'UptimeEvent',
    plural: 'uptimeEvents',
    table: 'uptime_events',
    columns: { id: c('id', 'ID'), nodeID: c('node_id', 'Int'), uptime: c('uptime', 'BigInt'), timestamp: c('timestamp', 'BigInt') },
  },
];
