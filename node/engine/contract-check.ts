import type { NodeChain, NodeContractInfo } from '../chain-port.ts';
import { zosErrors } from '../errors.ts';
import { hashHex, type Deployment } from '../model/deployment.ts';

/**
 * zos engine `validate`: the contract must exist on chain as a node contract of this node
 * and, unless replaying after a reboot, hold the deployment's hash (ASCII md5 hex).
 */
export async function checkContract(
  chain: NodeChain,
  nodeId: number,
  dl: Deployment,
  opts: { checkHash: boolean },
): Promise<NodeContractInfo> {
  const contract = await chain.nodeContract(dl.contract_id);
  if (!contract || contract.state === 'Deleted') throw zosErrors.contractNotFound(dl.contract_id);
  if (contract.nodeId !== nodeId) throw zosErrors.invalidNodeAddress();
  if (opts.checkHash && contract.deploymentHash !== hashHex(dl)) throw zosErrors.hashMismatch();
  return contract;
}
