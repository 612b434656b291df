import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { storedNetworkNamespace } from '../../node/host/network/index.ts';
import { UPLINK_TABLE } from '../../node/host/network/nft.ts';
import { repoPath } from '../../lib/paths.ts';
import { sizeSchema } from '../../lib/size.ts';
import type { Deployment } from '../../node/model/index.ts';
import { nameFromMetadata } from './build.ts';
import { assertHostCanRunNodes } from './cleanup.ts';
import { cliLogger, parseOptions } from './cli.ts';
import { deploySpec, formatStates, waitForWorkloads, workloadStates } from './deployer.ts';
import { CliErrorCode, explain, formatError } from './errors.ts';
import { waitForGuestPort } from './guest-port.ts';
import { LocalGrid } from './local-grid.ts';
import { Reporter } from './render.ts';
import { UserSession } from './session.ts';
import { nodeUplinkPool, prepareSample, SAMPLE_NET, type Sample } from './sample.ts';
import type { DeploymentSpec } from './spec.ts';

const upOptions = z.object({
  dataDir: z.string().min(1).optional(),
  nodes: z.coerce.number({ error: '--nodes must be a number' }).int().min(1, '--nodes must be 1..8').max(8, '--nodes must be 1..8'),
  chainPort: z.coerce.number().int().min(0).max(65535, '--chain-port must be a port'),
  relayPort: z.coerce.number().int().min(0).max(65535, '--relay-port must be a port'),
  indexerPort: z.coerce.number().int().min(0).max(65535, '--indexer-port must be a port'),
  imagePort: z.coerce.number().int().min(0).max(65535, '--image-port must be a port'),
  sshKey: z.string().min(1).optional(),
  poolSize: sizeSchema('--pool-size'),
  refresh: z.coerce.number().min(1, '--refresh is seconds >= 1'),
});

const EXAMPLE = repoPath('examples', 'disk.yaml');

/** `zos up` itself: start the grid, deploy the sample, watch until a signal, stop everything. */
export async function runUp(raw: Record<string, unknown>): Promise<void> {
  const out = new Reporter(process.stdout);
  const log = cliLogger('zos-up');
  let grid: LocalGrid | null = null;
  let session: UserSession | null = null;
  let sample: Sample | null = null;
  let stopping: Promise<void> | null = null;
  let exitCode = 0;
  const stopped = new AbortController();
  const shutdown = (why: string) => {
    stopping ??= (async () => {
      stopped.abort();
      out.release();
      out.line(`stopping (${why}): nodes, relay, devnet…`);
      await session?.close().catch(() => {});
      await grid?.close();
      await sample?.image.close().catch(() => {});
      // The nodes' shared uplink table (their networks are gone with them).
      await execa('nft', ['delete', 'table', 'ip', UPLINK_TABLE], { reject: false }).catch(() => {});
      out.line('stopped: nodes ended, pools unmounted, loop devices detached');
      process.exit(exitCode);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const o = parseOptions(upOptions, raw);
    await assertHostCanRunNodes();
    // Nodes on this machine: their private networks reach only the user's WireGuard peer (lab addresses, no NAT out).
    const nodeArgs = (n: number) => ['--nr-uplinks', nodeUplinkPool(n), '--no-nr-egress'];
    grid = new LocalGrid({ ...o, dataDir: o.dataDir ?? null, nodeArgs, log, step: (t, d) => out.step(t, d) });
    await grid.start();

    out.step('funding a user account');
    const user = await grid.upUser();
    session = await UserSession.open({ chainUrl: grid.chainUrl, relayUrl: grid.relayUrl, secret: user.mnemonic, log });
    out.step('funding a user account', `user ${session.address} funded (mnemonic in ${user.mnemonicFile})`);

    const first = grid.nodes[0]!.nodeId;
    out.step('building and serving the sample VM image');
    sample = await prepareSample({ dataDir: grid.dataDir, node: first, imagePort: o.imagePort, sshKey: o.sshKey });
    out.step('sample VM image', `base image (busybox + dropbear, zos image base) served at ${sample.spec.workloads.find((w) => w.name === 'vm')!.data.flist as string}`);
    await deploySample(session, sample.spec, first, out);
    await waitForSsh(grid.nodes[0]!.dataDir, (await session.twinId())!, sample, out, stopped.signal);

    const info = { ...grid.info({ address: session.address, mnemonicFile: user.mnemonicFile }), sample: { vmIp: sample.vmIp, wgConfig: sample.wgConfig, ssh: sample.ssh } };
    await writeFile(join(grid.dataDir, 'grid.json'), `${JSON.stringify(info, null, 2)}\n`);
    out.line();
    out.line(`grid is up (state in ${grid.dataDir}). The sample VM (${sample.vmIp}, network 198.19.0.0/16): WireGuard from this machine into its network, then ssh:`);
    out.line(`  wg-quick up ${sample.wgConfig}`);
    out.line(`  ${sample.ssh}`);
    out.line(`  wg-quick down ${sample.wgConfig}`);
    out.line('From another shell:');
    out.line(`  zos deploy ${relative(process.cwd(), EXAMPLE) || EXAMPLE} --node ${first} --chain ${grid.chainUrl} --relay ${grid.relayUrl} --mnemonic "${user.mnemonic}"`);
    out.line(`  GridClient: network "dev", substrateURL ${grid.chainUrl}, relayURL ${grid.relayUrl}, proxyURL ${grid.indexerUrl}, graphqlURL ${grid.indexerUrl}/graphql, activationURL ${grid.activationUrl}`);
    out.line(`  zos deployments list --chain ${grid.chainUrl} --relay ${grid.relayUrl} --key-file ${user.mnemonicFile}`);
    out.line(`  zos node stats ${first} --chain ${grid.chainUrl} --relay ${grid.relayUrl} --key-file ${user.mnemonicFile}`);
    out.line(`  (grid details: ${join(grid.dataDir, 'grid.json')}; node logs: <node dir>/node.log)`);
    out.line();
    await watch(grid, session, out, o.refresh * 1000, stopped.signal);
  } catch (err) {
    if (stopping) return void (await stopping);
    const e = explain(err);
    exitCode = e.exitCode;
    out.release();
    process.stderr.write(formatError('zos up', e));
    await shutdown('error');
  }
}

/** A VM boot under TCG on a busy machine takes a while. */
const SAMPLE_TIMEOUT_MS = 300_000;

async function deploySample(session: UserSession, spec: DeploymentSpec, nodeId: number, out: Reporter): Promise<void> {
  try {
    await deploySpec(session, spec, nodeId, { step: (t, d) => out.step(`sample deployment: ${t}`, d && `sample deployment: ${d}`), states: (s) => out.detail(formatStates(s)) }, SAMPLE_TIMEOUT_MS);
  } catch (err) {
    const e = explain(err);
    // A kept --data-dir already has it: show its state instead of failing.
    const existing = e.code === CliErrorCode.contractNotUnique ? Number(e.details?.contractId) : 0;
    if (!existing) throw e;
    out.step('sample deployment', `sample deployment exists: contract ${existing}`);
    const states = await waitForWorkloads(session, nodeId, existing, (s) => out.detail(formatStates(s)), SAMPLE_TIMEOUT_MS);
    out.step('', `sample deployment: all workloads ${formatStates(states)}`);
  }
}

/** Under TCG on a busy machine the guest's dropbear listens some seconds, or a minute or two, after its VM is `ok`. */
const SSH_WAIT_MS = 180_000;

/** Waits until the sample VM's ssh port accepts a connection, so that the ssh command printed next works at once. */
async function waitForSsh(nodeDir: string, twin: number, sample: Sample, out: Reporter, signal: AbortSignal): Promise<void> {
  const target = `${sample.vmIp}:22`;
  const namespace = await storedNetworkNamespace(join(nodeDir, 'network'), twin, SAMPLE_NET.name).catch(() => null);
  if (!namespace) return out.line(`(cannot check the sample VM's ssh from here: its guest may need a few seconds after vm=ok before ssh connects)`);
  out.step(`waiting for the sample VM's ssh (${target}, from its network's namespace; at most ${SSH_WAIT_MS / 1000} s)`);
  const r = await waitForGuestPort({ namespace, ip: sample.vmIp, port: 22, timeoutMs: SSH_WAIT_MS, signal, progress: (why) => out.detail(`ssh ${target}: ${why}`) });
  if (r.open) out.step('', `sample VM: ssh answers on ${target} (after ${(r.ms / 1000).toFixed(1)} s)`);
  else if (!signal.aborted) out.fail(`sample VM: ssh on ${target} still not answering after ${SSH_WAIT_MS / 1000} s (${r.reason}): its guest may need longer; the ssh below may have to be retried (node log: ${join(nodeDir, 'node.log')})`);
}

/** Redraws the grid state every `everyMs` until `signal` aborts. */
async function watch(grid: LocalGrid, session: UserSession, out: Reporter, everyMs: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const lines = [`grid state (refreshed every ${everyMs / 1000} s; Ctrl-C stops everything)`];
    for (const n of grid.nodes) {
      lines.push(`  node ${n.nodeId}  twin ${n.twinId}  pid ${n.pid}  ${n.running ? 'running' : 'EXITED (see ' + n.logFile + ')'}`);
      if (!n.running) continue;
      try {
        const list = await session.call<Deployment[]>(n.nodeId, 'zos.deployment.list', undefined, 10_000);
        for (const dl of list.sort((a, b) => a.contract_id - b.contract_id)) {
          lines.push(`    contract ${dl.contract_id}  ${nameFromMetadata(dl.metadata) || '(unnamed)'}  ${formatStates(workloadStates(dl))}`);
        }
        if (!list.length) lines.push('    no deployments of this user');
      } catch (err) {
        lines.push(`    (cannot list deployments: ${explain(err).message})`);
      }
    }
    if (signal.aborted) return;
    out.show(lines);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, everyMs);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
