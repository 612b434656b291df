import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGrid, type Grid, type GridUser, type NodeProcess, waitFor } from '../helpers/grid.ts';
import { diskDeployment, fileSize, GiB, rmb, signed, vdiskPath, waitStates, withContract } from '../helpers/deployments.ts';
import { inboundSockets, watchInbound } from '../helpers/sockets.ts';
import { hashHex, type Deployment } from '../../node/model/index.ts';

let grid: Grid;
let node: NodeProcess;
let user: GridUser;

before(async () => {
  grid = await startGrid();
  node = await grid.startNode();
  user = await grid.user();
});
after(async () => grid?.close());

test('no inbound: the node owns no listening or bound socket through deploy, update and cancel', async () => {
  const pid = node.pid!;
  assert.ok((await inboundSockets(process.pid)).length > 0, 'control: the test process itself does listen (devnet, relay)');
  const watch = watchInbound(() => pid);
  const phase = async (name: string) => assert.deepEqual(await inboundSockets(pid), [], `inbound sockets ${name}`);
  const dl = await withContract(user, node.nodeId, (id) => diskDeployment(user, id));
  await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  const got = await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'ok');
  await phase('after deploy');
  const next = signed(user, { ...got, version: 1, workloads: got.workloads.map((w) => ({ ...w, version: 1, data: { size: 2 * (w.data as { size: number }).size } })) } as Deployment);
  await user.account.updateNodeContract(dl.contract_id, hashHex(next), '');
  await rmb(user, node.twinId, 'zos.deployment.update', next);
  await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok', 'ok after update');
  await phase('after update');
  await user.account.cancelContract(dl.contract_id);
  await waitFor(async () => (await fileSize(vdiskPath(node.dataDir, `${user.twinId}-${dl.contract_id}-disk`))) === null, 'deprovisioned');
  await phase('after cancel');
  const { samples, seen } = await watch.stop();
  assert.ok(samples >= 3, `sampled ${samples} times in the background`);
  assert.deepEqual(seen, []);
});

test('crash: kill -9 right after a deploy, restart on the same data dir, everything converges', async () => {
  const dls: Deployment[] = [];
  for (let i = 0; i < 3; i++) dls.push(await withContract(user, node.nodeId, (id) => diskDeployment(user, id, { disk: (i + 1) * GiB })));
  for (const dl of dls) await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  await node.kill('SIGKILL');
  const restarted = await grid.startNode({ dataDir: node.dataDir });
  assert.equal(restarted.nodeId, node.nodeId, 'same identity, same node id');
  node = restarted;
  for (const [i, dl] of dls.entries()) {
    await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', `deployment ${i} ok after restart`);
    assert.equal(await fileSize(vdiskPath(node.dataDir, `${user.twinId}-${dl.contract_id}-disk`)), (i + 1) * GiB);
  }
  // a restart re-provisions idempotently: nothing turns to error
  await node.kill('SIGTERM');
  node = await grid.startNode({ dataDir: node.dataDir });
  for (const dl of dls) {
    const got = await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'still ok after a clean restart');
    assert.ok(got.workloads.every((w) => w.result.message === ''));
  }
});
