import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { BIN, startGrid, waitFor, type Grid, type NodeProcess } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { volumePath } from '../helpers/deployments.ts';

// `zos deploy` / `zos deployments` / `zos node stats` as real processes against a real grid
// (in-process devnet + relay, one `zos node` child).

const root = process.getuid?.() === 0;
const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
let grid: Grid;
let node: NodeProcess;
const mnemonic = mnemonicGenerate();

before(async () => {
  if (!root) return;
  grid = await startGrid();
  node = await grid.startNode();
});
after(async () => grid?.close());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: <T>() => T;
}

async function zos(args: string[], key: string[] = ['--mnemonic', mnemonic]): Promise<Run> {
  const r = await execa(BIN, [...args, '--chain', grid.chainUrl, '--relay', grid.relayUrl, ...key], { reject: false, timeout: 150_000 });
  const stdout = String(r.stdout);
  return { code: r.exitCode ?? -1, stdout, stderr: String(r.stderr), json: <T>() => JSON.parse(stdout) as T };
}

interface Result {
  contractId: number;
  twinId: number;
  nodeId: number;
  name: string;
  workloads: Array<{ name: string; type: string; state: string }>;
}

const deployed = new Map<string, number>();
let userTwin = 0;

test('deploy: every file in examples/ reaches ok, and deployments list --json shows it', async (t) => {
  if (!requireHost(t, root, 'needs root: zos node puts its pool on btrfs over a loop device')) return;
  const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  assert.ok(files.length >= 3, `examples: ${files}`);
  for (const [i, f] of files.entries()) {
    // The first deploy funds the fresh account from the devnet faucet (--fund).
    const r = await zos(['deploy', `${EXAMPLES}${f}`, '--node', String(node.nodeId), '--json', ...(i === 0 ? ['--fund'] : [])]);
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    const res = r.json<Result>();
    assert.equal(res.nodeId, node.nodeId);
    assert.ok(res.workloads.length > 0 && res.workloads.every((w) => w.state === 'ok'), `${f}: ${JSON.stringify(res.workloads)}`);
    assert.match(r.stderr, /✔ all workloads ok/, 'progress goes to stderr with --json');
    deployed.set(res.name, res.contractId);
    userTwin = res.twinId;
  }
  const list = await zos(['deployments', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.json<Array<{ contractId: number; nodeId: number; name: string; workloads: Array<{ state: string }> }>>();
  for (const [name, id] of deployed) {
    const row = rows.find((r) => r.contractId === id);
    assert.ok(row, `contract ${id} listed`);
    assert.equal(row.name, name);
    assert.ok(row.workloads.every((w) => w.state === 'ok'));
  }
  const human = await zos(['deployments', 'list']);
  assert.match(human.stdout, new RegExp(`contract ${deployed.get('example-disk')}  node ${node.nodeId}  example-disk  v0  data=ok disk=ok`));
});

test('deploy: the same file again names the existing contract and how to cancel it', async (t) => {
  if (!requireHost(t, root, 'needs root')) return;
  const id = deployed.get('example-disk');
  assert.ok(id);
  const r = await zos(['deploy', `${EXAMPLES}disk.yaml`, '--node', String(node.nodeId), '--json']);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json<{ error: { code: string; details: unknown } }>().error.details, { contractId: id, nodeId: node.nodeId });
  assert.match(r.stderr, new RegExp(`a contract with the same deployment hash exists on node ${node.nodeId}: contract ${id}`));
  assert.match(r.stderr, new RegExp(`zos deployments cancel ${id}`));
});

test('deployments: get, changes and node stats give parseable --json', async (t) => {
  if (!requireHost(t, root, 'needs root')) return;
  const id = deployed.get('example-disk')!;
  const get = await zos(['deployments', 'get', String(id), '--json']);
  assert.equal(get.code, 0, get.stderr);
  const dl = get.json<{ contractState: string; deployment: { contract_id: number; workloads: Array<{ name: string; result: { state: string; data: unknown } }> } }>();
  assert.equal(dl.contractState, 'Created');
  assert.equal(dl.deployment.contract_id, id);
  const disk = dl.deployment.workloads.find((w) => w.name === 'disk')!;
  assert.equal(disk.result.state, 'ok');
  assert.ok(String((disk.result.data as { volume_id: string }).volume_id).endsWith(`-${id}-disk`));

  const changes = await zos(['deployments', 'changes', String(id), '--json']);
  assert.equal(changes.code, 0, changes.stderr);
  const states = changes.json<Array<{ name: string; result: { state: string } }>>().filter((c) => c.name === 'disk').map((c) => c.result.state);
  assert.deepEqual([states[0], states.at(-1)], ['init', 'ok']);

  const stats = await zos(['node', 'stats', String(node.nodeId), '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  const s = stats.json<{ total: { sru: number }; used: { sru: number }; users: { deployments: number; workloads: number } }>();
  assert.ok(s.total.sru >= 100 * 2 ** 30, `total sru ${s.total.sru}`);
  assert.ok(s.users.deployments >= deployed.size, JSON.stringify(s.users));
  assert.ok(s.used.sru >= 2 ** 30);
});

test('deployments: cancel removes the deployment from the node', async (t) => {
  if (!requireHost(t, root, 'needs root')) return;
  const id = deployed.get('example-volume')!;
  const r = await zos(['deployments', 'cancel', String(id), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json(), { contractId: id, nodeId: node.nodeId, canceled: true });
  // The node deprovisions on the chain's cancel event: the volume's subvolume goes away.
  await waitFor(() => !existsSync(volumePath(node.dataDir, `${userTwin}-${id}-scratch`)), 'canceled volume removed', 60_000, 500);
  const list = await zos(['deployments', 'list', '--node', String(node.nodeId), '--json']);
  assert.ok(!list.json<Array<{ contractId: number }>>().some((d) => d.contractId === id), list.stdout);
  const again = await zos(['deployments', 'cancel', String(id)]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /contract \d+ does not exist|ContractNotExists|gone/);
});

test('deploy: errors say what to do next (unfunded account, unknown node, unreachable relay)', async (t) => {
  if (!requireHost(t, root, 'needs root')) return;
  const fresh = mnemonicGenerate();
  const unfunded = await zos(['deploy', `${EXAMPLES}disk.yaml`, '--node', String(node.nodeId)], ['--mnemonic', fresh]);
  assert.equal(unfunded.code, 1);
  assert.match(unfunded.stderr, /cannot pay the transaction fees/);
  assert.match(unfunded.stderr, new RegExp(`curl -X POST ${grid.activationUrl.replace(/[./]/g, '\\$&')}`));

  const noNode = await zos(['deploy', `${EXAMPLES}disk.yaml`, '--node', '999', '--json']);
  assert.equal(noNode.code, 1);
  assert.match(noNode.stderr, /node 999 does not exist/);
  assert.equal(noNode.json<{ error: { code: string } }>().error.code, 'ERR_NODE_NOT_FOUND');

  const r = await execa(BIN, ['deployments', 'list', '--chain', grid.chainUrl, '--relay', 'ws://127.0.0.1:1', '--mnemonic', mnemonic], { reject: false });
  assert.equal(r.exitCode, 1);
  assert.match(String(r.stderr), /cannot reach the relay at ws:\/\/127\.0\.0\.1:1: connection refused/);
  assert.match(String(r.stderr), /check --relay/);
});

test('deploy: a workload the node cannot provision fails with the node message, exit 1', async (t) => {
  if (!requireHost(t, root, 'needs root')) return;
  const dir = await mkdtemp(join(tmpdir(), 'zos-cli-huge-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'huge.yaml'), `node: ${node.nodeId}\nname: huge\nworkloads:\n  - {name: big, type: zmount, size: 1TiB}\n`);
  const r = await zos(['deploy', join(dir, 'huge.yaml'), '--json']);
  assert.equal(r.code, 1);
  assert.equal(r.json<{ error: { code: string } }>().error.code, 'ERR_WORKLOAD_FAILED');
  assert.match(r.stderr, new RegExp(`workload big failed on node ${node.nodeId}: cannot fulfil required storage size 1099511627776 bytes`));
  assert.match(r.stderr, /zos deployments cancel \d+/);
});

test('node stats: a node that does not answer through the relay is a timeout with a hint', async (t) => {
  if (!requireHost(t, root, 'needs root')) return;
  await node.kill('SIGTERM'); // last test: the node is gone, its twin still on chain
  const r = await zos(['node', 'stats', String(node.nodeId), '--timeout', '2', '--json']);
  assert.equal(r.code, 1);
  assert.equal(r.json<{ error: { code: string } }>().error.code, 'ERR_RELAY_TIMEOUT');
  assert.match(r.stderr, /no response to zos\.statistics\.get/);
  assert.match(r.stderr, /did not answer through the relay .*is it running/);
});
