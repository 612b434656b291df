import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, startGrid, waitForLine, type Grid, type GridUser, type NodeProcess, waitFor } from '../helpers/grid.ts';
import { diskDeployment, fileSize, GiB, MiB, quotaOf, rmb, signed, vdiskPath, volumePath, waitStates, withContract } from '../helpers/deployments.ts';
import { inboundSockets, traceListens, watchInbound } from '../helpers/sockets.ts';
import { cleanupHostState, requireHost } from '../helpers/host.ts';
import { assertHostMatches, processesUnder } from '../helpers/host-state.ts';
import { hashHex, type Deployment } from '../../node/model/index.ts';

let grid: Grid;
let node: NodeProcess;
let user: GridUser;

before(async () => {
  grid = await startGrid();
  [node, user] = await Promise.all([grid.startNode(), grid.user()]); // neither needs the other
});
after(async () => grid?.close());

test('no inbound: traced from spawn, the node makes no listen() nor inet bind() through start, deploy, update and cancel', async (t) => {
  if (!requireHost(t, (await execa('strace', ['-V'], { reject: false })).exitCode === 0, 'strace (apt-get install strace)')) return;
  const dir = await mkdtemp(join(tmpdir(), 'zos-traced-'));
  let stop = async () => rm(dir, { recursive: true, force: true });
  t.after(() => stop());
  // Control: the tracer sees a listener that lives for a millisecond.
  const control = traceListens(process.execPath, ['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { this.close(); })"], join(dir, 'control.trace'));
  await control.proc;
  assert.ok((await control.calls()).some((l) => /listen\(/.test(l)), 'control: a short-lived listener is traced');

  const dataDir = join(dir, 'node');
  const traced = traceListens(BIN, ['node', '--chain', grid.chainUrl, '--relay', grid.relayUrl, '--farm', String(grid.farmId), '--data-dir', dataDir,
    '--activation-url', grid.activationUrl, '--pool-size', String(128 * GiB)], join(dir, 'node.trace'), { env: { ZOS_LOG_LEVEL: 'warn' }, stdin: 'ignore' });
  const ready = waitForLine(traced.proc, /ready node (\d+) twin (\d+)/); // listening from spawn: execa consumes stdout
  /** The node itself: found by its data dir (strace's first child need not be it). */
  const nodePids = async () => (await processesUnder(dataDir)).map((l) => Number(l.split(' ')[0])).filter((p) => p !== traced.proc.pid);
  stop = async () => {
    // SIGKILL: a graceful stop is not what this test is about, and under ptrace it can stall.
    for (const p of [...(await nodePids()), traced.proc.pid!]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await traced.proc;
    await cleanupHostState(dataDir); // before the files go: the pool is still mounted under dir
    await rm(dir, { recursive: true, force: true });
  };
  let pid: number | undefined;
  const sampled = watchInbound(() => pid);
  const [, nodeId, twinId] = (await ready).map(Number) as [number, number, number];
  const pids = await nodePids();
  assert.equal(pids.length, 1, `one node process: ${pids}`);
  pid = pids[0]!;
  const phase = async (name: string) => {
    t.diagnostic(name);
    assert.deepEqual(await inboundSockets(pid!), [], `inbound sockets ${name}`);
  };
  await phase('after start');
  const dl = await withContract(user, nodeId, (id) => diskDeployment(user, id));
  await rmb(user, twinId, 'zos.deployment.deploy', dl);
  const got = await waitStates(user, twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'ok');
  await phase('after deploy');
  const next = signed(user, { ...got, version: 1, workloads: got.workloads.map((w) => ({ ...w, version: 1, data: { size: 2 * (w.data as { size: number }).size } })) } as Deployment);
  await user.account.updateNodeContract(dl.contract_id, hashHex(next), '');
  await rmb(user, twinId, 'zos.deployment.update', next);
  await waitStates(user, twinId, dl.contract_id, (s) => s.disk === 'ok', 'ok after update');
  await phase('after update');
  await user.account.cancelContract(dl.contract_id);
  await waitFor(async () => (await fileSize(vdiskPath(dataDir, `${user.twinId}-${dl.contract_id}-disk`))) === null, 'deprovisioned');
  await phase('after cancel');
  const { samples, seen } = await sampled.stop();
  assert.ok(samples >= 3, `sampled ${samples} times in the background`);
  assert.deepEqual(seen, []);
  assert.deepEqual(await traced.calls(), [], 'listen()/bind() calls of the node and its children');
});

/** Where the node's log is now: waitForFailpoint looks only after it. */
async function logMark(n: NodeProcess): Promise<number> {
  return (await readFile(n.logFile, 'utf8').catch(() => '')).length;
}

/** Waits until the node's log shows fail point `name` hit (after `mark`): the node is inside that primitive. */
async function waitForFailpoint(n: NodeProcess, name: string, mark: number): Promise<void> {
  await waitFor(async () => (await readFile(n.logFile, 'utf8')).slice(mark).includes(`"failpoint":"${name}"`), `fail point ${name}`, 60_000, 100);
}

const sleepAt = (name: string) => ({ ZOS_FAILPOINTS: `${name}=sleep(600000)` });

test('crash: kill -9 inside a primitive (a subvolume made, its quota not yet set), restart on the same data dir, everything converges', async () => {
  await node.kill('SIGTERM');
  node = await grid.startNode({ dataDir: node.dataDir, env: sleepAt('storage.subvolume.created') });
  const dls: Deployment[] = [];
  for (let i = 0; i < 3; i++) dls.push(await withContract(user, node.nodeId, (id) => diskDeployment(user, id, { disk: (i + 1) * GiB })));
  const mark = await logMark(node);
  for (const dl of dls) await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  await waitForFailpoint(node, 'storage.subvolume.created', mark);
  const first = volumePath(node.dataDir, `${user.twinId}-${dls[0]!.contract_id}-vol`);
  assert.ok((await stat(first)).isDirectory(), 'inside the primitive: the subvolume exists');
  assert.equal(await quotaOf(first), null, 'inside the primitive: its quota is not set yet');
  await node.kill('SIGKILL');
  const restarted = await grid.startNode({ dataDir: node.dataDir });
  assert.equal(restarted.nodeId, node.nodeId, 'same identity, same node id');
  node = restarted;
  for (const [i, dl] of dls.entries()) {
    await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', `deployment ${i} ok after restart`);
  }
  await assertHostMatches(node.dataDir, await rmb<Deployment[]>(user, node.twinId, 'zos.deployment.list'));
  // a restart re-provisions idempotently: nothing turns to error
  await node.kill('SIGTERM');
  node = await grid.startNode({ dataDir: node.dataDir });
  for (const dl of dls) {
    const got = await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'still ok after a clean restart');
    assert.ok(got.workloads.every((w) => w.result.message === ''));
  }
  await assertHostMatches(node.dataDir, await rmb<Deployment[]>(user, node.twinId, 'zos.deployment.list'));
});

test('crash: kill -9 inside the quota resize of an update, restart: the same update plan resumes and the deployment ends at its new version', async () => {
  const dl = await withContract(user, node.nodeId, (id) => diskDeployment(user, id, { disk: 5 * GiB }));
  await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  const got = await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'ok');
  await node.kill('SIGTERM');
  node = await grid.startNode({ dataDir: node.dataDir, env: sleepAt('storage.subvolume.resize') });
  const grown = got.workloads.map((w) => (w.name === 'vol' ? { ...w, version: 1, data: { size: 512 * MiB } } : w));
  const next = signed(user, { ...got, version: 1, workloads: grown } as Deployment);
  await user.account.updateNodeContract(dl.contract_id, hashHex(next), '');
  const mark = await logMark(node);
  await rmb(user, node.twinId, 'zos.deployment.update', next);
  await waitForFailpoint(node, 'storage.subvolume.resize', mark);
  await node.kill('SIGKILL');
  node = await grid.startNode({ dataDir: node.dataDir });
  // Before, the restarted job found the header at version 1 already and dropped the update.
  let after: Deployment | undefined;
  await waitFor(async () => {
    after = await rmb<Deployment>(user, node.twinId, 'zos.deployment.get', { contract_id: dl.contract_id });
    return after.workloads.some((w) => w.name === 'vol' && w.version === 1 && w.result.state === 'ok');
  }, 'the update done after the restart', 90_000, 500);
  assert.equal(after!.version, 1);
  assert.deepEqual(after!.workloads.map((w) => [w.name, w.version, w.result.state]), [['disk', 0, 'ok'], ['vol', 1, 'ok']]);
  assert.equal(await quotaOf(volumePath(node.dataDir, `${user.twinId}-${dl.contract_id}-vol`)), 512 * MiB);
  await assertHostMatches(node.dataDir, await rmb<Deployment[]>(user, node.twinId, 'zos.deployment.list'));
});
