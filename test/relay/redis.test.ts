import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { requireHost } from '../helpers/host.ts';
import { DOMAIN, directory, makeTwin, RawClient, signedRequest, sleep, startPeer, startRelay } from './fixture.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A throwaway redis-server on a random loopback port, or null (test skipped) when not installed. */
async function startRedis(t: TestContext): Promise<string | null> {
  const found = await execa('redis-server', ['--version'], { reject: false });
  if (!requireHost(t, found.exitCode === 0, 'redis-server not installed (apt-get install redis-server)')) return null;
  const port = await freePort();
  const proc = execa('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    reject: false,
  });
  t.after(async () => {
    proc.kill('SIGTERM');
    await proc;
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    const ok = await c.connect().then(() => c.ping()).then(() => true, () => false);
    c.disconnect();
    if (ok) return url;
    await sleep(50);
  }
  throw new Error('redis-server did not come up');
}

test('redis: two relay processes sharing Redis route between their sessions', async (t) => {
  const redisUrl = await startRedis(t);
  if (!redisUrl) return;
  const a = await makeTwin(1);
  const b = await makeTwin(2, 'ed25519');
  const twins = directory(a, b);
  const r1 = await startRelay(t, { twins, redisUrl, domains: [DOMAIN] });
  const r2 = await startRelay(t, { twins, redisUrl, domains: [DOMAIN] });
  const pa = await startPeer(t, a, [r1.url], twins);
  const pb = await startPeer(t, b, [r2.url], twins);
  pb.handle('echo', (p, ctx) => ({ p, from: ctx.twin }));
  pa.handle('hello', () => 'hi');
  assert.deepEqual(await pa.request(2, 'echo', [1, 2], { timeoutMs: 10_000 }), { p: [1, 2], from: 1 });
  assert.equal(await pb.request(1, 'hello', null, { timeoutMs: 10_000 }), 'hi');
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => pa.request(2, 'echo', i, { timeoutMs: 10_000 })));
  assert.equal(replies.length, 20);
});

test('redis: a message queued through one relay while offline is replayed by the other, then deleted', async (t) => {
  const redisUrl = await startRedis(t);
  if (!redisUrl) return;
  const a = await makeTwin(1);
  const b = await makeTwin(2);
  const twins = directory(a, b);
  const r1 = await startRelay(t, { twins, redisUrl });
  const r2 = await startRelay(t, { twins, redisUrl });
  const ra = await RawClient.connect(t, r1.url, a);
  const sent = Array.from({ length: 5 }, (_, i) => signedRequest(a, 2, { uid: `r${i}` }));
  for (const e of sent) ra.send(e);
  const redis = new Redis(redisUrl);
  redis.on('error', () => undefined);
  t.after(() => redis.disconnect());
  const deadline = Date.now() + 5_000;
  while ((await redis.xlen('stream:2')) < 5 && Date.now() < deadline) await sleep(20);
  assert.equal(await redis.xlen('stream:2'), 5);
  const ttl = await redis.ttl('stream:2');
  assert.ok(ttl > 3500 && ttl <= 3600, `EXPIRE 3600, got ${ttl}`);
  const rb = await RawClient.connect(t, r2.url, b);
  const got = await rb.waitFor(5);
  assert.deepEqual(got.map((e) => e.uid), sent.map((e) => e.uid));
  while ((await redis.xlen('stream:2')) > 0 && Date.now() < deadline) await sleep(20);
  assert.equal(await redis.xlen('stream:2'), 0, 'XDEL after the socket write');
});

test('redis: a queue past its byte bound refuses new requests; delivered entries free their bytes', async (t) => {
  const redisUrl = await startRedis(t);
  if (!redisUrl) return;
  const a = await makeTwin(1);
  const b = await makeTwin(2);
  const relay = await startRelay(t, { twins: directory(a, b), redisUrl, limits: { queueBytes: 300_000 } });
  const ra = await RawClient.connect(t, relay.url, a);
  const big = { kind: 'plain' as const, data: new Uint8Array(120_000) };
  for (const uid of ['b0', 'b1', 'b2']) ra.send(signedRequest(a, 2, { uid, payload: big }));
  const [full] = await ra.waitFor(1);
  assert.equal(full!.uid, 'b2');
  assert.deepEqual(full!.message, { kind: 'error', code: 0, message: 'failed to route message to peer: destination queue is full' });
  const rb = await RawClient.connect(t, relay.url, b);
  assert.deepEqual((await rb.waitFor(2)).map((e) => e.uid), ['b0', 'b1']);
  const redis = new Redis(redisUrl);
  redis.on('error', () => undefined);
  t.after(() => redis.disconnect());
  for (let i = 0; i < 100 && (await redis.exists('bytes:2')) === 1; i++) await sleep(20);
  assert.equal(await redis.exists('bytes:2'), 0, 'the byte counter goes with the emptied stream');
  ra.send(signedRequest(a, 2, { uid: 'b3', payload: big }));
  assert.equal((await rb.waitFor(3))[2]!.uid, 'b3');
});
