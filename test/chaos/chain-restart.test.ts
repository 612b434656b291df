// A chain restart under a running `zos node` and `zos relay` (issue #16, the lean chain client):
// the devnet is kill -9'd while the node follows its blocks and a client talks to the node, then
// started again on the same port (state kept on disk), then stopped and started once more. Both
// daemons run without a handler for unhandled rejections (one would crash them), so this fails
// if any chain call's failure reaches no caller. Afterwards they serve a twin made after the
// restarts: the relay and the node looked it up on the new connection, and the node checks a new
// contract on chain and brings its deployment up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeProcess } from '../../bin/grid/nodes.ts';
import { silentLogger } from '../../lib/log.ts';
import { diskDeployment, GiB, MiB, rmb, signed, waitStates, withContract } from '../helpers/deployments.ts';
import { createGridUser, type GridUser } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { retry, startChaosGrid } from './services.ts';

test('chain restart: kill -9 and stop of the devnet under a running node and relay; both keep running, reconnect and serve a twin and a contract made afterwards', { timeout: 600_000 }, async (t) => {
  if (!requireHost(t, process.getuid?.() === 0, 'root (the node keeps its pool on btrfs over a loop device)')) return;
  const log = silentLogger();
  const { dir, nodeDir, devnet, relay, relayUrl, activationUrl, client, farmId, chainUrl, ...grid } = await startChaosGrid(t, { name: 'restart', log });
  const users: GridUser[] = [];
  let node: NodeProcess | undefined;
  grid.beforeClose(async () => {
    for (const u of users) await u.peer.close().catch(() => undefined);
    await node?.stop();
  });
  node = await NodeProcess.spawn({ chainUrl, relayUrl, activationUrl, farmId, dataDir: nodeDir, poolSize: 128 * GiB });
  const { nodeId, twinId: nodeTwin, pid: nodePid } = node;
  const relayPid = relay.pid;
  const before = await createGridUser({ client, activationUrl, relayUrl, log, sid: 'before' });
  users.push(before);
  const version = (u: GridUser) => u.peer.request(nodeTwin, 'zos.system.version', null, { timeoutMs: 20_000 });
  await version(before);

  // Requests keep flowing through relay and node while the chain goes away and comes back.
  let flowing = true;
  const traffic = (async () => {
    while (flowing) await version(before).catch(() => new Promise((r) => setTimeout(r, 200)));
  })();
  await devnet.kill9();
  await new Promise((r) => setTimeout(r, 1_500));
  await devnet.start();
  await retry('chain back after kill -9', () => client.query.finalizedBlockNumber());
  await new Promise((r) => setTimeout(r, 3_000)); // the daemons reconnect and resubscribe
  await devnet.stop();
  await new Promise((r) => setTimeout(r, 1_500));
  await devnet.start();
  await retry('chain back after stop', () => client.query.finalizedBlockNumber());
  flowing = false;
  await traffic;

  // A twin and a contract that exist only on the restarted chain.
  const after = await retry('a new twin', () => createGridUser({ client, activationUrl, relayUrl, log, sid: 'after' }));
  users.push(after);
  await retry('the new twin reaches the node', () => version(after));
  const dl = await withContract(after, nodeId, (contractId) => signed(after, diskDeployment(after, contractId, { disk: 64 * MiB })));
  await rmb(after, nodeTwin, 'zos.deployment.deploy', dl);
  await waitStates(after, nodeTwin, dl.contract_id, (s) => Object.values(s).every((v) => v === 'ok'), 'the deployment made after the restarts');

  assert.equal(node.pid, nodePid, 'the node process is the one started before the restarts');
  assert.ok(node.pid !== undefined && process.kill(node.pid, 0), 'the node is running');
  assert.ok(relay.running && relay.pid === relayPid, 'the relay is the one started before the restarts');
  const logs = `${await readFile(join(dir, 'relay.log'), 'utf8')}${await readFile(join(nodeDir, 'node.log'), 'utf8').catch(() => '')}`;
  assert.doesNotMatch(logs, /unhandled rejection/i);
  grid.passed();
});
