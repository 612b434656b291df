import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { hashHex, sign, type Deployment } from '../../node/model/index.ts';
import type { GridUser } from './grid.ts';
import { waitFor } from './grid.ts';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

/** A deployment with one zmount and one volume, signed by the user's twin. */
export function diskDeployment(user: GridUser, contractId: number, opts: { version?: number; disk?: number; volume?: number } = {}): Deployment {
  const version = opts.version ?? 0;
  const dl: Deployment = {
    version,
    twin_id: user.twinId,
    contract_id: contractId,
    metadata: '',
    description: 'test deployment',
    expiration: 0,
    signature_requirement: { requests: [{ twin_id: user.twinId, required: false, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
    workloads: [
      { version, name: 'disk', type: 'zmount', data: { size: opts.disk ?? 1 * GiB }, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } },
      { version: 0, name: 'vol', type: 'volume', data: { size: opts.volume ?? 256 * MiB }, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } },
    ],
  } as Deployment;
  return signed(user, dl);
}

export function signed(user: GridUser, dl: Deployment): Deployment {
  return sign({ ...dl, signature_requirement: { ...dl.signature_requirement, signatures: [] } }, user.twinId, user.identity.pair);
}

/** Creates the node contract for a deployment, returns it with contract_id set and re-signed. */
export async function withContract(user: GridUser, nodeId: number, build: (contractId: number) => Deployment): Promise<Deployment> {
  const draft = build(0);
  const contract = await user.account.createNodeContract({ nodeId, hash: hashHex(draft), data: '' });
  return build(contract.contractId);
}

export async function rmb<T = unknown>(user: GridUser, nodeTwin: number, cmd: string, payload?: unknown): Promise<T> {
  return user.peer.request<T>(nodeTwin, cmd, payload, { timeoutMs: 30_000 });
}

/** Polls zos.deployment.get until every workload satisfies `ok` (default: state ok). */
export async function waitStates(user: GridUser, nodeTwin: number, contractId: number, want: (states: Record<string, string>) => boolean, what: string, timeoutMs = 90_000): Promise<Deployment> {
  let last: Deployment | undefined;
  await waitFor(async () => {
    last = await rmb<Deployment>(user, nodeTwin, 'zos.deployment.get', { contract_id: contractId });
    return want(Object.fromEntries(last.workloads.map((w) => [w.name, w.result.state])));
  }, `${what} (last: ${JSON.stringify(last?.workloads.map((w) => [w.name, w.result.state, w.result.message]))})`, timeoutMs, 500);
  return last!;
}

export const poolMount = (dataDir: string) => join(dataDir, 'storage', 'pools', 'default');
export const vdiskPath = (dataDir: string, wlid: string) => join(poolMount(dataDir), 'vdisks', wlid);
export const volumePath = (dataDir: string, wlid: string) => join(poolMount(dataDir), wlid);

export async function fileSize(path: string): Promise<number | null> {
  return stat(path).then((s) => s.size, () => null);
}

/** The qgroup max_rfer limit of a subvolume, in bytes (null when the subvolume is gone). */
export async function quotaOf(path: string): Promise<number | null> {
  const show = await execa('btrfs', ['qgroup', 'show', '-rf', '--raw', path], { reject: false });
  if (show.exitCode !== 0) return null;
  const line = String(show.stdout).trim().split('\n').pop()!.trim().split(/\s+/);
  const limit = line[3];
  return limit && /^\d+$/.test(limit) ? Number(limit) : null;
}
