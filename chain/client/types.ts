/**
 * Plain TypeScript views of tfchain spec-152 storage values, as returned by queries.ts.
 * Numbers for ids and sizes (all below 2^53 in practice; larger values are rejected),
 * bigint for balances, decoded UTF-8 for text fields, Uint8Array for keys.
 */

export type HexString = `0x${string}`;

export interface Twin {
  id: number;
  /** 32-byte public key of the twin's account. */
  accountId: Uint8Array;
  /** Relay host names joined by "_", or null when unset. */
  relay: string | null;
  /** The twin's e2e public key (33-byte compressed secp256k1), or null when unset. */
  pk: Uint8Array | null;
  entities: Array<{ entityId: number; signature: Uint8Array }>;
}

export interface PublicIp {
  ip: string;
  gateway: string;
  /** 0 when the IP is free. */
  contractId: number;
}

export interface FarmingPolicyLimits {
  farmingPolicyId: number;
  cu: number | null;
  su: number | null;
  end: number | null;
  nodeCount: number | null;
  nodeCertification: boolean;
}

export interface Farm {
  version: number;
  id: number;
  name: string;
  twinId: number;
  pricingPolicyId: number;
  certification: 'NotCertified' | 'Gold';
  publicIps: PublicIp[];
  dedicatedFarm: boolean;
  farmingPolicyLimits: FarmingPolicyLimits | null;
}

export interface Resources {
  hru: number;
  sru: number;
  cru: number;
  mru: number;
}

export interface Location {
  city: string;
  country: string;
  /** Decimal text, or "Unknown". */
  latitude: string;
  longitude: string;
}

export interface NodeInterface {
  name: string;
  mac: string;
  ips: string[];
}

export interface PublicConfig {
  ip4: { ip: string; gw: string };
  ip6: { ip: string; gw: string } | null;
  domain: string | null;
}

export interface Node {
  version: number;
  id: number;
  farmId: number;
  twinId: number;
  resources: Resources;
  location: Location;
  publicConfig: PublicConfig | null;
  /** Unix seconds. */
  created: number;
  farmingPolicyId: number;
  interfaces: NodeInterface[];
  certification: 'Diy' | 'Certified';
  secureBoot: boolean;
  virtualized: boolean;
  serialNumber: string | null;
  connectionPrice: number;
}

export type ContractState =
  | { kind: 'Created' }
  | { kind: 'Deleted'; cause: 'CanceledByUser' | 'OutOfFunds' | 'CanceledByCollective' }
  | { kind: 'GracePeriod'; sinceBlock: number };

export type ContractType =
  | {
      kind: 'NodeContract';
      nodeId: number;
      /** The 32-char ASCII deployment hash (md5 hex of the deployment challenge). */
      deploymentHash: string;
      deploymentData: string;
      publicIps: number;
      publicIpsList: PublicIp[];
    }
  | { kind: 'NameContract'; name: string }
  | { kind: 'RentContract'; nodeId: number };

export interface Contract {
  version: number;
  contractId: number;
  twinId: number;
  state: ContractState;
  contractType: ContractType;
  solutionProviderId: number | null;
}

export type Power = 'Up' | 'Down';

export interface NodePower {
  state: { kind: 'Up' } | { kind: 'Down'; sinceBlock: number };
  target: Power;
}

export interface Balance {
  free: bigint;
  reserved: bigint;
  frozen: bigint;
}

export interface PolicyUnit {
  value: number;
  unit: 'Bytes' | 'Kilobytes' | 'Megabytes' | 'Gigabytes' | 'Terrabytes';
}

export interface PricingPolicy {
  version: number;
  id: number;
  name: string;
  su: PolicyUnit;
  cu: PolicyUnit;
  nu: PolicyUnit;
  ipu: PolicyUnit;
  uniqueName: PolicyUnit;
  domainName: PolicyUnit;
  foundationAccount: Uint8Array;
  certifiedSalesAccount: Uint8Array;
  discountForDedicationNodes: number;
}

/** What a node reports per contract (`report_contract_resources`). */
export interface ContractResources {
  contractId: number;
  used: Resources;
}

/** One NRU (public traffic) report (`add_nru_reports`). */
export interface NruReport {
  contractId: number;
  /** Unix seconds. */
  timestamp: number;
  /** Seconds since the previous report. */
  window: number;
  nru: number;
}
