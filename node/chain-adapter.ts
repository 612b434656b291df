import type { AccountClient, ChainClient } from '../chain/client/index.ts';
import type { ContractResourcesReport, NameContractInfo, NodeChain, NodeContractInfo, NruReport } from './chain-port.ts';

/** NodeChain over the typed chain client, signing as the node's account. */
export class ChainAdapter implements NodeChain {
  constructor(
    private readonly client: ChainClient,
    private readonly account: AccountClient,
  ) {}

  async nodeContract(contractId: number): Promise<NodeContractInfo | null> {
    const c = await this.client.query.contract(contractId);
    if (!c) return null;
    if (c.contractType.kind !== 'NodeContract') throw new Error(`contract ${contractId} is not a node contract`);
    return {
      contractId: c.contractId,
      twinId: c.twinId,
      state: c.state.kind,
      nodeId: c.contractType.nodeId,
      deploymentHash: c.contractType.deploymentHash,
      publicIps: c.contractType.publicIps,
      publicIpsList: c.contractType.publicIpsList.map((p) => ({ ip: p.ip, gateway: p.gateway })),
    };
  }

  /** The live name contract of a gateway name, or null (zos validateNameContract reads the same two maps). */
  async nameContract(name: string): Promise<NameContractInfo | null> {
    const id = await this.client.query.contractIdByName(name);
    if (id === null) return null;
    const c = await this.client.query.contract(id);
    if (!c) throw new Error(`contract by name returned ${id}, but retrieving it results in 'not found' error`);
    return { contractId: id, twinId: c.twinId, state: c.state.kind };
  }

  activeNodeContracts(nodeId: number): Promise<number[]> {
    return this.client.query.activeNodeContracts(nodeId);
  }

  activeRentContractForNode(nodeId: number): Promise<number | null> {
    return this.client.query.activeRentContractForNode(nodeId);
  }

  async twinAccountId(twinId: number): Promise<Uint8Array | null> {
    return (await this.client.query.twin(twinId))?.accountId ?? null;
  }

  async farmTwinId(farmId: number): Promise<number | null> {
    return (await this.client.query.farm(farmId))?.twinId ?? null;
  }

  async reportUptime(uptimeSeconds: number): Promise<void> {
    await this.account.reportUptime(uptimeSeconds);
  }

  async reportContractResources(reports: ContractResourcesReport[]): Promise<void> {
    if (reports.length) await this.account.reportContractResources(reports);
  }

  async addNruReports(reports: NruReport[]): Promise<void> {
    if (reports.length) await this.account.addNruReports(reports);
  }
}
