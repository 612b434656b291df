/**
 * What the node needs from tfchain, as plain types. The engine, API and reporters
 * depend on this interface; node/chain-adapter.ts implements it over chain/client.
 */
export type ContractStateName = 'Created' | 'GracePeriod' | 'Deleted';

export interface NodeContractInfo {
  contractId: number;
  twinId: number;
  state: ContractStateName;
  nodeId: number;
  /** The 32-char lowercase md5 hex the contract holds. */
  deploymentHash: string;
  publicIps: number;
  publicIpsList: Array<{ ip: string; gateway: string }>;
}

/** A name contract (a gateway name) as gateways check it. */
export interface NameContractInfo {
  contractId: number;
  twinId: number;
  state: ContractStateName;
}

export interface ContractResourcesReport {
  contractId: number;
  used: { hru: number; sru: number; cru: number; mru: number };
}

export interface NruReport {
  contractId: number;
  timestamp: number;
  window: number;
  nru: number;
}

/** Chain events the node acts on. */
export type NodeChainEvent =
  | { kind: 'contract-canceled'; contractId: number; nodeId: number; twinId: number }
  | { kind: 'grace-started'; contractId: number; nodeId: number; twinId: number }
  | { kind: 'grace-ended'; contractId: number; nodeId: number; twinId: number }
  | { kind: 'power-target'; nodeId: number; target: 'Up' | 'Down' };

export interface NodeChain {
  /** A node contract by id; null when absent (cancelled contracts are removed on chain). Throws for other contract types. */
  nodeContract(contractId: number): Promise<NodeContractInfo | null>;
  activeNodeContracts(nodeId: number): Promise<number[]>;
  activeRentContractForNode(nodeId: number): Promise<number | null>;
  /** The 32-byte account id of a twin, or null. */
  twinAccountId(twinId: number): Promise<Uint8Array | null>;
  /** The farm's owner twin (the farmer: admin of the node). */
  farmTwinId(farmId: number): Promise<number | null>;
  reportUptime(uptimeSeconds: number): Promise<void>;
  reportContractResources(reports: ContractResourcesReport[]): Promise<void>;
  addNruReports(reports: NruReport[]): Promise<void>;
}
