import { hashHex, type Deployment } from '../../node/model/index.ts';
import { isChainError } from '../../chain/client/index.ts';
import { buildDeployment, signedDeployment, specMetadata } from './build.ts';
import { CliError, CliErrorCode, explain } from './errors.ts';
import type { UserSession } from './session.ts';
import type { DeploymentSpec } from './spec.ts';

/**
 * The client side of a deployment, as grid clients do it: ensure the user (terms, twin), build
 * the zos Deployment, create the node contract with its hash, sign, send
 * zos.deployment.deploy through the relay, then poll zos.deployment.get until every workload
 * is ok or one fails.
 */

export interface WorkloadState {
  name: string;
  type: string;
  state: string;
  message: string;
  data: unknown;
}

export interface DeployResult {
  contractId: number;
  nodeId: number;
  nodeTwin: number;
  twinId: number;
  hash: string;
  name: string;
  workloads: WorkloadState[];
}

export interface DeployHooks {
  /** A step starts (`creating contract`), or finishes when `done` is given. */
  step?(text: string, done?: string): void;
  /** The latest workload states while waiting. */
  states?(states: WorkloadState[]): void;
}

export function workloadStates(dl: Deployment): WorkloadState[] {
  return dl.workloads
    .map((w) => ({ name: w.name, type: w.type, state: w.result.state || 'init', message: w.result.message, data: w.result.data }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `disk=ok data=init` */
export function formatStates(states: WorkloadState[]): string {
  return states.map((s) => `${s.name}=${s.state}`).join(' ');
}

export function contractConflict(contractId: number, nodeId: number): CliError {
  return new CliError(CliErrorCode.contractNotUnique, `a contract with the same deployment hash exists on node ${nodeId}: contract ${contractId}`,
    `change the deployment (e.g. its name or a size), or cancel contract ${contractId}: zos deployments cancel ${contractId}`, { details: { contractId, nodeId } });
}

export async function deploySpec(session: UserSession, spec: DeploymentSpec, nodeId: number, hooks: DeployHooks = {}, timeoutMs = 120_000): Promise<DeployResult> {
  const step = hooks.step ?? (() => {});
  step(`preparing account ${session.address}`);
  const twinId = await session.ensureUser();
  const nodeTwin = await session.nodeTwin(nodeId);
  step(`preparing account ${session.address}`, `account ready: twin ${twinId}; node ${nodeId} is twin ${nodeTwin}`);

  const hash = hashHex(buildDeployment(spec, twinId, 0));
  const existing = await session.client.query.contractIdByNodeAndHash(nodeId, hash).catch((err) => {
    throw explain(err, session.ctx);
  });
  if (existing !== null) throw contractConflict(existing, nodeId);

  step(`creating node contract (hash ${hash})`);
  let contractId: number;
  try {
    ({ contractId } = await session.account.createNodeContract({ nodeId, hash, data: specMetadata(spec) }));
  } catch (err) {
    if (isChainError(err, 'ContractIsNotUnique')) {
      const id = await session.client.query.contractIdByNodeAndHash(nodeId, hash);
      throw contractConflict(id ?? 0, nodeId);
    }
    if (isChainError(err, 'NodeNotAvailableToDeploy')) {
      throw new CliError(CliErrorCode.rejected, `node ${nodeId} does not take deployments now (down, or rented by another twin)`, 'pick another node with --node');
    }
    throw explain(err, session.ctx);
  }
  step(`creating node contract (hash ${hash})`, `contract ${contractId} created on node ${nodeId}`);

  const dl = signedDeployment(spec, twinId, contractId, session.identity.pair);
  step(`sending the deployment to node ${nodeId} through the relay`);
  try {
    await session.call(nodeId, 'zos.deployment.deploy', dl);
  } catch (err) {
    const e = explain(err, session.ctx);
    if (e.code === CliErrorCode.rejected) {
      // Nothing will run for this contract: cancel it rather than leave it billing.
      await session.account.cancelContract(contractId).catch(() => {});
      throw new CliError(e.code, `${e.message} (contract ${contractId} was canceled)`, 'fix the deployment and deploy again', { cause: err });
    }
    throw new CliError(e.code, `${e.message} (contract ${contractId} exists)`,
      `${e.hint ?? ''}; see it with zos deployments get ${contractId}, or cancel it with zos deployments cancel ${contractId}`.replace(/^; /, ''), { cause: err });
  }
  step(`sending the deployment to node ${nodeId} through the relay`, `node ${nodeId} accepted the deployment`);

  step('waiting for the workloads');
  const states = await waitForWorkloads(session, nodeId, contractId, hooks.states, timeoutMs);
  const result: DeployResult = { contractId, nodeId, nodeTwin, twinId, hash, name: spec.name, workloads: states };
  const failed = states.find((s) => s.state === 'error');
  if (failed) {
    throw new CliError(CliErrorCode.workloadFailed, `workload ${failed.name} failed on node ${nodeId}: ${failed.message}`,
      `fix the deployment, then cancel contract ${contractId} (zos deployments cancel ${contractId}) and deploy again`);
  }
  step('waiting for the workloads', `all workloads ok: ${formatStates(states)}`);
  return result;
}

/** Polls zos.deployment.get until every workload is ok or one is in error. */
export async function waitForWorkloads(session: UserSession, nodeId: number, contractId: number, onStates?: (s: WorkloadState[]) => void, timeoutMs = 120_000): Promise<WorkloadState[]> {
  const deadline = Date.now() + timeoutMs;
  let last: WorkloadState[] = [];
  for (;;) {
    try {
      last = workloadStates(await session.call<Deployment>(nodeId, 'zos.deployment.get', { contract_id: contractId }, 15_000));
      onStates?.(last);
      if (last.length && (last.every((s) => s.state === 'ok') || last.some((s) => s.state === 'error'))) return last;
    } catch (err) {
      // A relay hiccup while polling is not fatal; the deadline is.
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) {
      throw new CliError(CliErrorCode.timeout, `workloads not ready after ${Math.round(timeoutMs / 1000)} s: ${formatStates(last)}`,
        `the node may still be working: zos deployments get ${contractId}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
