// The node's perf tasks and diagnostics: the health check against real loopback services and a
// real cache dir, stored results across a restart, zos' texts where a task can't run here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { setFailpoints } from '../../lib/failpoints.ts';
import { silentLogger } from '../../lib/log.ts';
import { dialAddress, healthcheckTask, isHealthy } from '../../node/perf/healthcheck.ts';
import { PerfMonitor, RESULT_NOT_FOUND } from '../../node/perf/monitor.ts';
import { nodePerf } from '../../node/perf/index.ts';
import { nodeModuleChecks, systemDiagnostics } from '../../node/api/diagnostics.ts';
import { apiFixture } from './api/api-fixture.ts';

function tempDir(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'zos-perf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function listening(t: import('node:test').TestContext): Promise<number> {
  const server = createServer((s) => s.destroy()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then released); the test checks it refuses, as the host says. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  const sock = connect(port, '127.0.0.1');
  const [err] = (await once(sock, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  return port;
}

test('healthcheck: zos dial rules, reachable and refused services, writable and broken cache, in zos texts', async (t) => {
  assert.deepEqual(dialAddress('wss://relay.example'), { host: 'relay.example', port: 443 });
  assert.deepEqual(dialAddress('ws://[::1]:9944'), { host: '::1', port: 9944 });
  assert.deepEqual(dialAddress('http://kyc.example/x'), { host: 'kyc.example', port: 80 });
  const up = await listening(t);
  const down = await closedPort();
  const dir = tempDir(t);
  const signal = new AbortController().signal;
  const ok = await healthcheckTask({ cacheDir: dir, services: { substrate: [`ws://127.0.0.1:${down}`, `ws://127.0.0.1:${up}`] } }).run(signal);
  assert.deepEqual(ok, { cache: [], network: [] });
  assert.equal(isHealthy(ok), true);
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, '');
  const bad = await healthcheckTask({ cacheDir: file, services: { relay: [`ws://127.0.0.1:${down}`], graphql: [] } }).run(signal);
  assert.deepEqual(bad, {
    cache: [`failed to write to cache: open ${file}/healthcheck: not a directory`],
    network: [
      `all relay instances are unreachable: ws://127.0.0.1:${down} is not reachable: failed to connect: dial tcp 127.0.0.1:${down}: connect: connection refused`,
      'no instances provided for service graphql',
    ],
  });
  assert.equal(isHealthy(bad), false);
});

test('perf monitor: results stored per task and kept over a restart; zos texts for what never ran', async (t) => {
  const dir = tempDir(t);
  const up = await listening(t);
  const perf = () => nodePerf({ dataDir: dir, chainUrls: [`ws://127.0.0.1:${up}`], relayUrls: [`ws://127.0.0.1:${up}`], workloads: () => 0, log: silentLogger() });
  const first = perf();
  await assert.rejects(first.get('healthcheck'), { message: RESULT_NOT_FOUND });
  assert.equal(await first.getAll(), null);
  await first.start();
  t.after(() => first.close());
  let stored;
  for (let i = 0; i < 100 && !stored; i++) stored = await first.get('healthcheck').catch(() => new Promise((r) => setTimeout(r, 50)).then(() => undefined));
  assert.ok(stored, 'healthcheck stored at start');
  assert.deepEqual(Object.keys(stored), ['name', 'description', 'timestamp', 'result']);
  assert.deepEqual(stored.result, { cache: [], network: [] });
  assert.ok(Math.abs(stored.timestamp - Date.now() / 1000) < 60);
  // cpubench is zos' own tool: where it is missing the benchmark stores nothing.
  const cpubench = await execa('cpubench', ['-j'], { reject: false });
  if (cpubench.exitCode === undefined) {
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(first.get('cpu-benchmark'), { message: RESULT_NOT_FOUND });
  }
  await assert.rejects(first.get('iperf'), { message: RESULT_NOT_FOUND });
  await assert.rejects(first.get('../etc/passwd'), { message: RESULT_NOT_FOUND });
  await first.close();
  // A restart finds the stored result and does not run the task again at once.
  const second = perf();
  await second.start();
  t.after(() => second.close());
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await second.get('healthcheck'), stored);
  assert.deepEqual((await second.getAll())?.map((r) => r.name), cpubench.exitCode === 0 ? ['cpu-benchmark', 'healthcheck'] : ['healthcheck']);

  // Over the API: zos' untagged {Name} matches in any case.
  const api = apiFixture(t, { perf: second });
  assert.deepEqual(await api.call('zos.perf.get', { name: 'healthcheck' }), stored);
  assert.deepEqual(await api.call('zos.perf.get', { Name: 'healthcheck' }), stored);
  await assert.rejects(api.call('zos.perf.get', {}), { message: RESULT_NOT_FOUND });
  assert.deepEqual(await api.call('zos.perf.get_all'), await second.getAll());
  assert.equal(await apiFixture(t, { perf: new PerfMonitor({ dir: join(dir, 'none'), tasks: [], log: silentLogger() }) }).raw('zos.perf.get_all'), 'null');
});

test('perf monitor: a result that cannot be stored keeps the previous one whole', async (t) => {
  const dir = tempDir(t);
  let n = 0;
  const task = { id: 'count', description: 'counts its runs', everyMs: 3_600_000, run: async () => ++n };
  const monitor = new PerfMonitor({ dir, tasks: [task], log: silentLogger() });
  const first = await monitor.runTask(task);
  assert.equal(first.result, 1);
  setFailpoints('durable.write.renaming=error(power cut)');
  t.after(() => setFailpoints(undefined));
  await assert.rejects(monitor.runTask(task), /power cut/);
  assert.deepEqual(await monitor.get('count'), first);
  assert.deepEqual(readdirSync(dir), ['count.json']);
  setFailpoints('');
  assert.equal((await monitor.runTask(task)).result, 3);
  assert.equal((await monitor.get('count')).result, 3);
});

test('diagnostics: each module within 3 s, an error names why, healthy follows the health check', async (t) => {
  const queue: { job?: { op: string; twin: number; contract: number; created: number } } = {};
  const checks = nodeModuleChecks({
    chain: { finalizedBlockNumber: async () => 7 },
    relay: { connected: (signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('no relay connection')))) },
    queue: { peek: () => queue.job },
    storage: { poolsInfo: async () => [] },
    version: '1.2.3',
  });
  const started = Date.now();
  const d = await systemDiagnostics(checks, async () => true);
  assert.ok(Date.now() - started < 5_000);
  assert.deepEqual(d, {
    system_status_ok: false,
    modules: {
      chain: { status: { objects: [{ Name: 'chain', Version: '1.2.3' }], workers: [] } },
      provision: { status: { objects: [{ Name: 'engine', Version: '1.2.3' }], workers: [{ state: 'free' }] } },
      relay: { status: { objects: null, workers: null }, error: 'context deadline exceeded' },
      storage: { status: { objects: null, workers: null }, error: 'no storage pools' },
    },
    healthy: true,
  });
  queue.job = { op: 'provision', twin: 3, contract: 9, created: 1_700_000_000 };
  const busy = await systemDiagnostics({ provision: checks.provision! }, async () => false);
  assert.deepEqual(busy, {
    system_status_ok: true,
    modules: { provision: { status: { objects: [{ Name: 'engine', Version: '1.2.3' }], workers: [{ state: 'busy', time: '2023-11-14T22:13:20.000Z', action: 'provision 3:9' }] } } },
    healthy: false,
  });
  const api = apiFixture(t, { diagnostics: () => systemDiagnostics({ provision: checks.provision! }, async () => false) });
  // zos' shape plus the node's own listening sockets (the no-inbound evidence the OS image checks).
  const { listening_sockets, ...answer } = await api.call('zos.system.diagnostics');
  assert.deepEqual(answer, busy);
  assert.ok(Array.isArray(listening_sockets));
});
