import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { GatewayProxy, stopHaproxy, type ProxyRoute } from '../../node/host/gateway/index.ts';
import { waitFor } from '../helpers/grid.ts';
import { labSupported, waitOutput } from '../helpers/lab.ts';
import { requireHost } from '../helpers/host.ts';
import { selfSignedCert } from '../helpers/tls.ts';
import { cleanupStack } from '../vm/fixtures.ts';

/**
 * A node starting with stored gateway routes whose haproxy cannot start (its port taken, a broken
 * binary, broken state on disk): the gateway host's start() resolves (startHosts, and with it the
 * node daemon, goes on), the routes are kept so the replayed gateway workloads fail with the
 * reason (their `error` state), and a later reload (the periodic recheck) starts haproxy once the
 * cause is gone. haproxy listens on 127.0.0.1 inside a namespace of the test's own.
 */
test('gateway proxy: a haproxy that cannot start with stored routes leaves the node running, the workloads in error, and is retried', async (t) => {
  const why = await labSupported();
  if (!requireHost(t, why === null, why ?? '')) return;
  const defer = cleanupStack(t);
  const id = randomBytes(3).toString('hex');
  const ns = `zgwf${id}`;
  const dir = await mkdtemp(join(tmpdir(), `zgwf${id}-`));
  defer(() => rm(dir, { recursive: true, force: true }));
  await execa('ip', ['netns', 'add', ns]);
  defer(async () => {
    for (const pid of String((await execa('ip', ['netns', 'pids', ns], { reject: false })).stdout).split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    await execa('ip', ['netns', 'del', ns], { reject: false });
  });
  await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);

  const gw = join(dir, 'gw');
  const route: ProxyRoute = { id: '1-2-web', kind: 'gateway-name-proxy', fqdn: 'web.gw.test', tlsPassthrough: false, servers: [] };
  const other: ProxyRoute = { ...route, id: '1-3-other', fqdn: 'other.gw.test' };
  const proxies: GatewayProxy[] = [];
  /** One node start over the same state dir; the recheck (which retries) every 200 ms. */
  const start = async () => {
    const p = new GatewayProxy({ dataDir: gw, namespace: () => ns, httpBinds: ['127.0.0.1:80'], tlsBinds: ['127.0.0.1:443'], recheckMs: 200, log: silentLogger() });
    proxies.push(p);
    await p.start();
    return p;
  };
  defer(async () => {
    for (const p of proxies) await p.close();
    await stopHaproxy(gw);
  });
  /** haproxy answers :80 for the name (a redirect to https); '000' when nothing listens. */
  const http80 = async (host = 'web.gw.test') =>
    String((await execa('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${host}`, 'http://127.0.0.1/'], { reject: false })).stdout);
  /** The node goes down with its haproxy (a reboot): routes and certificates stay on disk. */
  const down = async (p: GatewayProxy) => {
    await p.close();
    await stopHaproxy(gw);
    await waitFor(async () => (await http80()) === '000', 'nothing listening once haproxy stopped', 10_000, 100);
  };
  const storedRoutes = async () => (JSON.parse(await readFile(join(gw, 'routes.json'), 'utf8')) as { routes: ProxyRoute[] }).routes.map((r) => r.id);

  const first = await start();
  await first.set(route);
  assert.equal(await http80(), '301');
  await down(first);

  await t.test('port taken: start resolves with the routes kept, the replayed route fails with haproxy\'s reason, the recheck starts it once the port is free', async () => {
    const blocker = execa('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer().listen(80, '127.0.0.1', () => console.log('ready'))`], { reject: false });
    defer(() => blocker.kill('SIGKILL'));
    await waitOutput(blocker, /ready/);
    const p = await start();
    assert.deepEqual(p.list().map((r) => r.id), ['1-2-web'], 'the stored route is kept');
    // What the engine's replay does at start: provision again. The workload gets this error.
    await assert.rejects(p.set(route), /gateway proxy did not start/);
    await waitFor(async () => /cannot bind socket \(Address already in use\)/.test(await readFile(join(gw, 'haproxy.log'), 'utf8')), 'haproxy\'s reason in its log', 10_000, 100);
    assert.deepEqual(p.list().map((r) => r.id), ['1-2-web'], 'still kept after the failed replay');
    assert.deepEqual(await storedRoutes(), ['1-2-web']);
    blocker.kill('SIGKILL');
    await blocker;
    await waitFor(async () => (await http80()) === '301', 'haproxy started by a later recheck', 30_000, 200);
    await p.set(other);
    assert.equal(await http80('other.gw.test'), '301', 'later routes are served too');
    await p.remove(other.id);
    await down(p);
  });

  await t.test('a broken haproxy binary: start resolves, the replay fails with its text, the recheck starts the real one', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'haproxy'), '#!/bin/sh\necho "haproxy: broken binary" >&2\nexit 1\n');
    await chmod(join(bin, 'haproxy'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    let p: GatewayProxy;
    try {
      p = await start();
      await assert.rejects(p.set(route), /haproxy: broken binary/);
      assert.deepEqual(p.list().map((r) => r.id), ['1-2-web']);
    } finally {
      process.env.PATH = path;
    }
    await waitFor(async () => (await http80()) === '301', 'haproxy started by a later recheck', 30_000, 200);
    await down(p);
  });

  await t.test('broken state on disk (routes, counters, a certificate whose key is not its own, a directory named .pem): start resolves, and replayed routes are served', async () => {
    await writeFile(join(gw, 'routes.json'), '{"generation": 4, "rou');
    await writeFile(join(gw, 'traffic.json'), '\0\0\0');
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    const a = await selfSignedCert(join(dir, 'a'));
    const b = await selfSignedCert(join(dir, 'b'));
    await writeFile(join(gw, 'certs', 'web.gw.test.pem'), Buffer.concat([a.cert, b.key]));
    await mkdir(join(gw, 'certs', 'dir.gw.test.pem'));
    const p = await start();
    assert.deepEqual(p.list(), [], 'routes.json unreadable: the engine\'s replay brings the routes back');
    assert.deepEqual(p.certificates(), [], 'the mismatched certificate is not loaded');
    await p.set(route);
    assert.equal(await http80(), '301');
    assert.deepEqual(await storedRoutes(), ['1-2-web']);
    await down(p);
  });

  await t.test('haproxy.log: a failed request is logged with its termination state; a log past 8 MiB is cut to its tail', async () => {
    await writeFile(join(gw, 'haproxy.log'), `${'old line\n'.repeat(1 << 20)}last old line\n`);
    const p = await start();
    await p.set({ ...route, servers: ['127.0.0.1:1'] });
    const size = (await stat(join(gw, 'haproxy.log'))).size;
    assert.ok(size < 300 << 10, `cut to its tail: ${size} bytes`);
    const https = await execa('ip', ['netns', 'exec', ns, 'curl', '-sk', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', 'web.gw.test:443:127.0.0.1', 'https://web.gw.test/x'], { reject: false });
    assert.equal(https.stdout, '503', 'nothing listens on the backend');
    assert.equal(await http80(), '301');
    let log = '';
    await waitFor(async () => /^<3>.* 503 .* SC-- .*"GET \S*\/x HTTP\/2\.0"$/m.test((log = await readFile(join(gw, 'haproxy.log'), 'utf8'))), 'the failed request in haproxy.log', 10_000, 100);
    assert.ok(log.includes('last old line\n'), 'the old log\'s last lines kept');
    assert.equal(/^<[4-7]>/m.test(log), false, 'no line for requests that went well, nor for proxies stopped at a reload');
    await down(p);
  });
});
