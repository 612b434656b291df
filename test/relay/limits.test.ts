import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { encodeEnvelope, type Envelope } from '../../rmb/envelope.ts';
import { createJwt } from '../../rmb/jwt.ts';
import { QUEUE_TTL_MS } from '../../relay/store.ts';
import type { RelayServerOptions } from '../../relay/server.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { directory, makeTwin, nowS, RawClient, signedRequest, sleep, startRelay, upgrade } from './fixture.ts';

/** Relay bounds (issue 14 item 1): bytes, sessions, upgrade and federation rates, slow readers. */

async function grid(t: TestContext, opts: Partial<RelayServerOptions> = {}) {
  const a = await makeTwin(1);
  const b = await makeTwin(2);
  const c = await makeTwin(3);
  const far = await makeTwin(4, 'sr25519', 'far.test');
  const twins = directory(a, b, c, far);
  const relay = await startRelay(t, { twins, ...opts });
  return { a, b, c, far, twins, relay, http: relay.url.replace('ws', 'http') };
}

const post = async (http: string, body: Uint8Array) => {
  const res = await fetch(`${http}/`, { method: 'POST', body: new Uint8Array(body) as Uint8Array<ArrayBuffer> });
  return { status: res.status, body: await res.text() };
};

const metric = (relay: { metrics: { render(): string } }, re: RegExp) => Number(re.exec(relay.metrics.render())?.[1] ?? 0);
const queueBytes = (relay: { metrics: { render(): string } }) => metric(relay, /rmb_relay_queue_bytes (\d+)/);
const errorText = (e: Envelope | undefined) => (e?.message?.kind === 'error' ? e.message.message : `not an error: ${e?.message?.kind}`);

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-limits-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('relay federation: POST / queues only for a twin on chain that names this relay; made-up twins cost no memory', async (t) => {
  const { relay, http } = await grid(t);
  const envFor = (twin: number, size: number): Envelope => ({
    uid: `f${twin}`, timestamp: nowS(), expiration: 60, source: { twin: 77 }, destination: { twin },
    message: { kind: 'request', command: 'c' }, payload: { kind: 'plain', data: new Uint8Array(size) }, relays: [],
  });
  // Measured on main before this bound: every one of these was answered 202 and kept in memory.
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(await post(http, encodeEnvelope(envFor(100_000 + i, 256 * 1024))), { status: 404, body: 'unknown twin destination' });
  }
  assert.deepEqual(await post(http, encodeEnvelope(envFor(4, 1024))), { status: 404, body: 'destination twin is not served by this relay' });
  assert.deepEqual(await post(http, encodeEnvelope(envFor(2, 1024))), { status: 202, body: '' });
  await relay.sweep(true);
  const stored = queueBytes(relay);
  assert.ok(stored > 1024 && stored < 2048, `only the one envelope for twin 2 is stored, got ${stored} bytes`);
  assert.equal(metric(relay, /reason="federation_unknown_twin"\} (\d+)/), 20);
});

for (const kind of ['memory', 'sqlite'] as const) {
  test(`relay ${kind} queues: byte bounds per queue and in total refuse new requests with an error; nothing stored is dropped`, async (t) => {
    const dataDir = kind === 'sqlite' ? tempDir(t) : undefined;
    const { a, b, c, relay } = await grid(t, { dataDir, limits: { queueBytes: 300_000, totalQueueBytes: 400_000 } });
    const ra = await RawClient.connect(t, relay.url, a);
    const big = { kind: 'plain' as const, data: new Uint8Array(120_000) };
    const toB = [0, 1, 2].map((i) => signedRequest(a, 2, { uid: `b${i}`, payload: big }));
    for (const e of toB) ra.send(e);
    const [full] = await ra.waitFor(1);
    assert.equal(full!.uid, 'b2');
    assert.equal(errorText(full), 'failed to route message to peer: destination queue is full');
    ra.send(signedRequest(a, 3, { uid: 'c0', payload: big }));
    ra.send(signedRequest(a, 3, { uid: 'c1', payload: big }));
    const [, total] = await ra.waitFor(2);
    assert.equal(total!.uid, 'c1');
    assert.equal(errorText(total), 'failed to route message to peer: relay queues are full');
    await relay.sweep(true);
    assert.ok(queueBytes(relay) > 360_000 && queueBytes(relay) <= 400_000, String(queueBytes(relay)));
    const rb = await RawClient.connect(t, relay.url, b);
    assert.deepEqual((await rb.waitFor(2)).map((e) => e.uid), ['b0', 'b1']);
    const rc = await RawClient.connect(t, relay.url, c);
    assert.deepEqual((await rc.waitFor(1)).map((e) => e.uid), ['c0']);
    // Delivered messages free their bytes.
    for (let i = 0; i < 100 && queueBytes(relay) > 0; i++) await sleep(20).then(() => relay.sweep());
    assert.equal(queueBytes(relay), 0);
  });

  test(`relay ${kind} queues: expired messages are collected without anyone reading them`, async (t) => {
    const dataDir = kind === 'sqlite' ? tempDir(t) : undefined;
    const clock = new FakeClock(Date.now());
    const { relay, http } = await grid(t, { dataDir, clock });
    const env: Envelope = {
      uid: 'x', timestamp: nowS(), expiration: 60, source: { twin: 77 }, destination: { twin: 2 },
      message: { kind: 'request', command: 'c' }, payload: { kind: 'plain', data: new Uint8Array(10_000) }, relays: [],
    };
    assert.equal((await post(http, encodeEnvelope(env))).status, 202);
    await relay.sweep(true);
    assert.ok(queueBytes(relay) > 10_000);
    await clock.advance(QUEUE_TTL_MS);
    await relay.sweep(true);
    assert.equal(queueBytes(relay), 0);
    assert.equal(metric(relay, /reason="expired"\} (\d+)/), 1);
  });
}

test('relay: a session that stops reading is evicted after slowReaderMs (rmb-rs: 60 s)', async (t) => {
  const { a, b, relay } = await grid(t, { limits: { slowReaderMs: 400 } });
  const rb = await RawClient.connect(t, relay.url, b);
  rb.ws.pause();
  const ra = await RawClient.connect(t, relay.url, a);
  const big = { kind: 'plain' as const, data: new Uint8Array(512 * 1024) };
  for (let i = 0; i < 80; i++) ra.send(signedRequest(a, 2, { uid: `m${i}`, payload: big }));
  for (let i = 0; i < 300 && relay.sessionCount > 1; i++) await sleep(20);
  assert.equal(relay.sessionCount, 1, 'only the reading session is left');
  assert.equal(metric(relay, /reason="slow_reader"\} (\d+)/), 1);
});

test('relay: sessions per twin, sessions in total and upgrades per address are bounded', async (t) => {
  const { a, b, c, relay } = await grid(t, { limits: { sessionsPerTwin: 2, maxSessions: 3 } });
  const jwt = (who: typeof a, sid?: string) => createJwt(who.identity, { twin: who.id, sid, nowS: nowS() });
  const open: WebSocket[] = [];
  t.after(() => open.forEach((w) => w.terminate()));
  const up = async (url: string) => {
    const r = await upgrade(url);
    if (r.ws) open.push(r.ws);
    return { status: r.status, body: r.body };
  };
  assert.equal((await up(`${relay.url}/?${jwt(a, 's1')}`)).status, 101);
  assert.equal((await up(`${relay.url}/?${jwt(a, 's2')}`)).status, 101);
  assert.deepEqual(await up(`${relay.url}/?${jwt(a, 's3')}`), { status: 429, body: 'too many sessions for twin 1' });
  assert.equal((await up(`${relay.url}/?${jwt(a, 's1')}`)).status, 101, 'a reconnect of a known session passes');
  assert.equal((await up(`${relay.url}/?${jwt(b)}`)).status, 101);
  for (let i = 0; i < 100 && relay.sessionCount !== 3; i++) await sleep(10);
  assert.deepEqual(await up(`${relay.url}/?${jwt(c)}`), { status: 503, body: 'relay is at its session capacity' });

  // 60 per minute = a burst of 10: the 11th attempt within the burst is refused before any twin lookup.
  const { relay: r2 } = await grid(t, { limits: { upgradesPerMinute: 60 } });
  const statuses: number[] = [];
  for (let i = 0; i < 11; i++) statuses.push((await up(`${r2.url}/?x.y.z`)).status);
  assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
});

test('relay federation: POST / is rate limited per remote address', async (t) => {
  const { http } = await grid(t, { limits: { federationPerMinute: 60 } });
  const statuses: number[] = [];
  for (let i = 0; i < 11; i++) statuses.push((await post(http, new Uint8Array([1, 2, 3]))).status);
  assert.deepEqual(statuses, [...Array(10).fill(400), 429]);
});

test('relay federation: pending sends are bounded and retries stop at federationMaxTtlS whatever the envelope claims', async (t) => {
  const down = createServer((_req, res) => res.writeHead(503).end());
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  t.after(() => down.close());
  const url = `http://127.0.0.1:${(down.address() as AddressInfo).port}/`;
  const { a, relay } = await grid(t, { federationUrl: () => url, limits: { federationPending: 2, federationMaxTtlS: 1 } });
  const ra = await RawClient.connect(t, relay.url, a);
  const forever = { expiration: 10 * 365 * 86_400 };
  for (const uid of ['p0', 'p1', 'p2']) ra.send(signedRequest(a, 4, { uid, ...forever }));
  const [first] = await ra.waitFor(1);
  assert.deepEqual([first!.uid, errorText(first)], ['p2', 'failed to route message to peer: federation queue is full']);
  const later = (await ra.waitFor(3, 8_000)).slice(1);
  assert.deepEqual(later.map((e) => [e.uid, errorText(e)]).sort(), [['p0', 'message has expired'], ['p1', 'message has expired']]);
});

test('relay federation: POST / counts against the same byte bounds as sessions: past the queue bound 429, past the total 503; nothing stored is dropped', async (t) => {
  const { b, c, relay, http } = await grid(t, { limits: { queueBytes: 300_000, totalQueueBytes: 400_000 } });
  const env = (uid: string, twin: number): Envelope => ({
    uid, timestamp: nowS(), expiration: 60, source: { twin: 77 }, destination: { twin },
    message: { kind: 'request', command: 'c' }, payload: { kind: 'plain', data: new Uint8Array(120_000) }, relays: [],
  });
  const results = [];
  for (const [uid, twin] of [['b0', 2], ['b1', 2], ['b2', 2], ['c0', 3], ['c1', 3]] as const) results.push([uid, (await post(http, encodeEnvelope(env(uid, twin)))).status]);
  assert.deepEqual(results, [['b0', 202], ['b1', 202], ['b2', 429], ['c0', 202], ['c1', 503]]);
  const rb = await RawClient.connect(t, relay.url, b);
  assert.deepEqual((await rb.waitFor(2)).map((e) => e.uid), ['b0', 'b1']);
  const rc = await RawClient.connect(t, relay.url, c);
  assert.deepEqual((await rc.waitFor(1)).map((e) => e.uid), ['c0']);
});
