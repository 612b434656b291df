import type { DebugAnswers } from './debug.ts';
import type { PoolInfo } from '../host/storage/types.ts';

/** What the API needs from the rest of the node; node/node.ts wires the real services. */
export interface DeploymentService {
  deploy(twin: number, payload: unknown): Promise<null>;
  update(twin: number, payload: unknown): Promise<null>;
  get(twin: number, contractId: number): Promise<unknown>;
  list(twin: number): Promise<unknown[]>;
  changes(twin: number, contractId: number): Promise<unknown[]>;
}

export interface Statistics {
  total: Counters;
  used: Counters;
  system: Counters;
  users: { deployments: number; workloads: number; last_deployment_timestamp: number };
  open_connections: number;
}

export interface Counters {
  cru: number;
  sru: number;
  hru: number;
  mru: number;
  ipv4u: number;
}

export interface ApiServices {
  deployments: DeploymentService;
  statistics(): Promise<Statistics> | Statistics;
  storagePools(): Promise<PoolInfo[]> | PoolInfo[];
  system: {
    version(): unknown;
    dmi(): unknown;
    hypervisor(): unknown;
    diagnostics(): unknown;
    features(): string[];
  };
  network: {
    listWgPorts(): unknown;
    publicConfig(): unknown;
    interfaces(): unknown;
    hasIpv6(): unknown;
    listPublicIps(): unknown;
    listPrivateIps(twin: number, network: string): unknown;
  };
  gpuList(): unknown;
  perf: { get(name: string): unknown; getAll(): unknown };
  location(): unknown;
  /** zos-config admin_twins: who may call zos.debug.*. */
  debug: DebugAnswers & { isAdmin(twin: number): boolean };
  admin: {
    isFarmer(twin: number): Promise<boolean>;
    interfaces(): unknown;
    getPublicNic(): unknown;
    setPublicNic(iface: string): unknown;
  };
}
