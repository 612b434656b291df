import type { Contract, ContractType } from '../../chain/client/index.ts';
import { readStorage } from '../../chain/client/queries.ts';
import type { Deployment } from '../../node/model/index.ts';
import { nameFromMetadata } from './build.ts';
import { workloadStates, type WorkloadState } from './deployer.ts';
import { CliError, CliErrorCode, explain } from './errors.ts';
import type { UserSession } from './session.ts';

/**
 * Where a user's deployments are: the chain knows the contracts (and their nodes), the nodes
 * know the deployments. tfchain has no index by twin, so `myNodes` scans the active contracts
 * of every node; fine for a local grid, slow on a big one (use --node there).
 */

export interface DeploymentRow {
  contractId: number;
  nodeId: number;
  name: string;
  version: number;
  workloads: WorkloadState[];
}

export function row(dl: Deployment, nodeId: number): DeploymentRow {
  return { contractId: dl.contract_id, nodeId, name: nameFromMetadata(dl.metadata), version: dl.version, workloads: workloadStates(dl) };
}

/** The highest node id on the chain (tfgridModule.NodeID). */
async function lastNodeId(session: UserSession): Promise<number> {
  return Number(await session.client.run((c) => readStorage(c, 'tfgridModule', 'nodeID')));
}

/** Nodes holding an active contract of this twin, ascending. */
export async function myNodes(session: UserSession, twinId: number): Promise<number[]> {
  const nodes: number[] = [];
  try {
    const last = await lastNodeId(session);
    for (let node = 1; node <= last; node++) {
      for (const id of await session.client.query.activeNodeContracts(node)) {
        const c = await session.client.query.contract(id);
        if (c?.twinId === twinId) {
          nodes.push(node);
          break;
        }
      }
    }
  } catch (err) {
    throw explain(err, session.ctx);
  }
  return nodes;
}

/** This twin's deployments on the given nodes (or on every node where it has a contract). */
export async function listDeployments(session: UserSession, nodeIds?: number[]): Promise<DeploymentRow[]> {
  const twinId = await session.requireTwin();
  const nodes = nodeIds ?? (await myNodes(session, twinId));
  const rows: DeploymentRow[] = [];
  for (const nodeId of nodes) {
    const list = await session.call<Deployment[]>(nodeId, 'zos.deployment.list');
    rows.push(...list.map((dl) => row(dl, nodeId)));
  }
  return rows.sort((a, b) => a.contractId - b.contractId);
}

export type NodeContract = Contract & { contractType: Extract<ContractType, { kind: 'NodeContract' }> };

/** A node contract of this twin, or a CliError saying why not. */
export async function myNodeContract(session: UserSession, contractId: number): Promise<NodeContract> {
  const twinId = await session.requireTwin();
  const c = await session.client.query.contract(contractId).catch((err) => {
    throw explain(err, session.ctx);
  });
  if (!c) throw new CliError(CliErrorCode.contractNotFound, `contract ${contractId} does not exist (or was canceled and removed)`, 'list yours with zos deployments list');
  if (c.contractType.kind !== 'NodeContract') throw new CliError(CliErrorCode.badInput, `contract ${contractId} is a ${c.contractType.kind}, not a node contract`);
  if (c.twinId !== twinId) throw new CliError(CliErrorCode.badInput, `contract ${contractId} belongs to twin ${c.twinId}, not to you (twin ${twinId})`, 'check --mnemonic / --key-file');
  return c as NodeContract;
}
