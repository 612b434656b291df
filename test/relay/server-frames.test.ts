import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../rmb/envelope.ts';
import { DOMAIN, directory, makeTwin, nowS, RawClient, signedRequest, sleep, startRelay, twoTwins } from './fixture.ts';

const metricsOf = async (url: string) => (await fetch(`${url.replace('ws', 'http')}/metrics`)).text();

test('relay: delivers a frame to the local session byte for byte', async (t) => {
  const { a, b, relay } = await twoTwins(t);
  const ra = await RawClient.connect(t, relay.url, a, 'abcdefghij');
  const rb = await RawClient.connect(t, relay.url, b);
  const bytes = encodeEnvelope(signedRequest(a, 2, {}, 'abcdefghij'));
  ra.send(bytes);
  await rb.waitFor(1);
  assert.deepEqual(Buffer.from(rb.frames[0]!), Buffer.from(bytes));
});

test('relay: app-level ping gets a pong to the sender, addresses swapped, "hello world" appended', async (t) => {
  const { a, relay } = await twoTwins(t);
  const ra = await RawClient.connect(t, relay.url, a, 'abcdefghij');
  // The official TS client's ping: destination {} (twin 0), empty tags and signature, unsigned.
  const ping: Envelope = {
    uid: 'p', tags: '', timestamp: nowS(), expiration: 40, source: { twin: 1, connection: 'abcdefghij' },
    destination: { twin: 0 }, message: { kind: 'ping' }, signature: new Uint8Array(0), schema: 'application/json', relays: [],
  };
  ra.send(ping);
  const [pong] = await ra.waitFor(1);
  assert.equal(pong!.uid, 'p');
  assert.equal(pong!.message?.kind, 'pong');
  assert.deepEqual(pong!.destination, { twin: 1, connection: 'abcdefghij' });
  assert.deepEqual(pong!.source, { twin: 0 });
  assert.equal(Buffer.from(pong!.payload!.data).toString(), 'hello world');
});

test('relay: answers WebSocket pings with pongs', async (t) => {
  const { a, relay } = await twoTwins(t);
  const ra = await RawClient.connect(t, relay.url, a);
  const got = new Promise<Buffer>((r) => ra.ws.once('pong', r));
  ra.ws.ping('hi');
  assert.equal((await got).toString(), 'hi');
});

const errorCases: { name: string; message: string; build: (ctx: { a: Awaited<ReturnType<typeof makeTwin>> }) => Envelope }[] = [
  { name: 'wrong source', message: 'message wrong source', build: ({ a }) => signedRequest(a, 2, { source: { twin: 1, connection: 'other' } }) },
  { name: 'missing destination', message: 'message with missing destination', build: ({ a }) => signedRequest(a, 0) },
  { name: 'unknown destination twin', message: 'unknown twin destination', build: ({ a }) => signedRequest(a, 404) },
  { name: 'destination without relay', message: 'relay info is not set for this twin', build: ({ a }) => signedRequest(a, 3) },
  { name: 'fail-fast to an offline twin', message: 'destination offline', build: ({ a }) => signedRequest(a, 2, { tags: 'fail-fast' }) },
];
for (const tc of errorCases) {
  test(`relay: ${tc.name} gets an unsigned error envelope "${tc.message}"`, async (t) => {
    const a = await makeTwin(1);
    const b = await makeTwin(2);
    const c = await makeTwin(3, 'sr25519', null);
    const relay = await startRelay(t, { twins: directory(a, b, c) });
    const ra = await RawClient.connect(t, relay.url, a);
    const req = tc.build({ a });
    ra.send(req);
    const [err] = await ra.waitFor(1);
    assert.deepEqual(err, {
      uid: req.uid, timestamp: err!.timestamp, expiration: 300, destination: { twin: 1 },
      message: { kind: 'error', code: 0, message: tc.message }, relays: [],
    });
    assert.ok(Math.abs(err!.timestamp - nowS()) <= 2);
  });
}

test('relay: a bad response (not a request) is dropped without an error envelope', async (t) => {
  const { a, relay } = await twoTwins(t);
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send({ ...signedRequest(a, 404), message: { kind: 'response' } });
  ra.send(signedRequest(a, 404));
  const got = await ra.waitFor(1);
  await sleep(100);
  assert.equal(ra.received.length, 1);
  assert.equal(got[0]!.message?.kind, 'error');
});

const disconnects = [
  { name: 'a text frame', send: (ws: WebSocket) => ws.send('hello'), code: 1003 },
  { name: 'a garbage binary frame', send: (ws: WebSocket) => ws.send(Buffer.from([0x0a, 0xff, 0x01]), { binary: true }), code: 1007 },
  { name: 'an oversized frame', send: (ws: WebSocket) => ws.send(Buffer.alloc(4096), { binary: true }), code: 1009 },
];
for (const tc of disconnects) {
  test(`relay: ${tc.name} closes that connection (${tc.code}) and the relay keeps serving`, async (t) => {
    const { a, b, relay } = await twoTwins(t, { maxMessageSize: 2048 });
    const ra = await RawClient.connect(t, relay.url, a);
    tc.send(ra.ws);
    assert.equal(await ra.closed, tc.code);
    const ra2 = await RawClient.connect(t, relay.url, a);
    const rb = await RawClient.connect(t, relay.url, b);
    ra2.send(signedRequest(a, 2));
    await rb.waitFor(1);
  });
}

test('relay: the newest connection of a session wins; other sids stay', async (t) => {
  const { a, b, relay } = await twoTwins(t);
  const first = await RawClient.connect(t, relay.url, b);
  const other = await RawClient.connect(t, relay.url, b, 'sid2');
  const second = await RawClient.connect(t, relay.url, b);
  assert.equal(await first.closed, 4000);
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send(signedRequest(a, 2));
  await second.waitFor(1);
  assert.equal(other.received.length, 0);
  assert.equal(relay.sessionCount, 3);
});

test('relay: queues for an offline session and replays in order on connect', async (t) => {
  const { a, b, relay } = await twoTwins(t);
  const ra = await RawClient.connect(t, relay.url, a);
  const sent = Array.from({ length: 300 }, (_, i) => signedRequest(a, 2, { uid: `m${i}` }));
  for (const e of sent) ra.send(e);
  await sleep(300);
  const rb = await RawClient.connect(t, relay.url, b);
  const got = await rb.waitFor(300);
  assert.deepEqual(got.map((e) => e.uid), sent.map((e) => e.uid));
  assert.match(await metricsOf(relay.url), /rmb_relay_messages_total\{kind="queued"\} 300/);
});

test('relay: --limit refuses messages over the per-twin count with the rate-limit error', async (t) => {
  const { a, b, relay } = await twoTwins(t, { limit: { count: 3, size: 1 << 20 } });
  const ra = await RawClient.connect(t, relay.url, a);
  const rb = await RawClient.connect(t, relay.url, b);
  for (let i = 0; i < 5; i++) ra.send(signedRequest(a, 2));
  await rb.waitFor(3);
  const errs = await ra.waitFor(2);
  assert.deepEqual(errs.map((e) => (e.message as { message: string }).message), Array(2).fill('exceeded rate limits, dropping message'));
  assert.match(await metricsOf(relay.url), /rmb_relay_drops_total\{reason="rate_limited"\} 2/);
});

test('relay: a full send queue drops the oldest frames and counts them', async (t) => {
  const { a, b, relay } = await twoTwins(t, { sendQueueCap: 4 });
  const rb = await RawClient.connect(t, relay.url, b);
  rb.ws.pause(); // stop reading so the relay's socket buffer and queue fill up
  const ra = await RawClient.connect(t, relay.url, a);
  const big = { kind: 'plain' as const, data: new Uint8Array(512 * 1024) };
  for (let i = 0; i < 40; i++) ra.send(signedRequest(a, 2, { uid: `m${i}`, payload: big }));
  const dropsOf = () => Number(/rmb_relay_drops_total\{reason="send_queue_full"\} (\d+)/.exec(relay.metrics.render())?.[1] ?? 0);
  for (let i = 0; i < 500 && !/kind="delivered"\} 40/.test(relay.metrics.render()); i++) await sleep(10);
  const dropped = dropsOf();
  assert.ok(dropped > 0, relay.metrics.render());
  rb.ws.resume();
  for (let i = 0; i < 500 && rb.received.length + dropped < 40; i++) await sleep(10);
  assert.equal(rb.received.at(-1)?.uid, 'm39', 'the newest frame survives');
  assert.equal(rb.received.length + dropped, 40);
});

test('relay: federates to the relay named in the twin record and errors when it refuses', async (t) => {
  const a = await makeTwin(1);
  const far = await makeTwin(2, 'sr25519', 'far.test');
  const gone = await makeTwin(3, 'sr25519', 'gone.test');
  const twins = directory(a, far, gone);
  const remote = await startRelay(t, { twins, domains: ['far.test'] });
  const urls: Record<string, string> = { 'far.test': remote.url.replace('ws', 'http') + '/', 'gone.test': `http://127.0.0.1:1/` };
  const home = await startRelay(t, { twins, domains: [DOMAIN], federationUrl: (d) => urls[d]! });
  const rfar = await RawClient.connect(t, remote.url, far);
  const ra = await RawClient.connect(t, home.url, a);
  const req = signedRequest(a, 2);
  ra.send(req);
  const [got] = await rfar.waitFor(1);
  assert.equal(got!.uid, req.uid);
  assert.deepEqual(decodeEnvelope(rfar.frames[0]!), got);
  // A remote that answers 4xx is a permanent failure: the sender hears about it.
  urls['gone.test'] = `${remote.url.replace('ws', 'http')}/nope`;
  ra.send(signedRequest(a, 3, { uid: 'g' }));
  const [err] = await ra.waitFor(1);
  assert.deepEqual(err!.message, { kind: 'error', code: 0, message: 'remote relay rejected permanently: destination offline' });
});
