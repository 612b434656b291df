import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challenge } from '../../relay-client/challenge.ts';
import { decrypt, sharedKey } from '../../relay-client/e2e.ts';
import { RelayClientError, RmbError, TimeoutError } from '../../relay-client/errors.ts';
import { signPrefixed } from '../../rmb/signature.ts';
import { assertForgeryKeepsId, directory, makeTwin, RawClient, signedRequest, sleep, startPeer, startRelay, twoTwins } from './fixture.ts';

test('request: two peers exchange signed, encrypted requests through the relay', async (t) => {
  const a = await makeTwin(7, 'sr25519');
  const b = await makeTwin(42, 'ed25519');
  const twins = directory(a, b);
  const relay = await startRelay(t, { twins });
  const pa = await startPeer(t, a, [relay.url], twins, { sid: 'abcdefghij' });
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.handle('zos.statistics.get', (payload, ctx) => ({ got: payload, from: ctx.twin, conn: ctx.connection }));
  // Requests to twin 7 go to its None session; a sid session only gets replies to its own requests.
  const pa0 = await startPeer(t, a, [relay.url], twins);
  pa0.handle('ping.back', () => 'pong');
  const reply = await pa.request(42, 'zos.statistics.get', { a: 1 }, { timeoutMs: 5_000 });
  assert.deepEqual(reply, { got: { a: 1 }, from: 7, conn: 'abcdefghij' });
  assert.equal(await pb.request(7, 'ping.back', undefined, { timeoutMs: 5_000 }), 'pong');
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => pa.request(42, 'zos.statistics.get', i)));
  assert.deepEqual(many.map((r) => (r as { got: number }).got), Array.from({ length: 50 }, (_, i) => i));
});

test('request: payload is end-to-end encrypted on the wire and the reply has the Go peer shape', async (t) => {
  const a = await makeTwin(7);
  const b = await makeTwin(42, 'ed25519');
  const twins = directory(a, b);
  const relay = await startRelay(t, { twins });
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.handle('echo', (p) => p);
  const raw = await RawClient.connect(t, relay.url, a, 'sess1');
  const req = signedRequest(a, 42, {}, 'sess1');
  raw.send(req);
  const [reply] = await raw.waitFor(1);
  assert.equal(reply!.uid, req.uid);
  assert.equal(reply!.expiration, 300);
  assert.deepEqual(reply!.source, { twin: 42 });
  assert.deepEqual(reply!.destination, { twin: 7, connection: 'sess1' });
  assert.equal(reply!.message?.kind, 'response');
  assert.equal(reply!.schema, 'application/json');
  assert.equal(reply!.federation, 'relay.test');
  assert.equal(reply!.payload?.kind, 'cipher');
  assert.equal(reply!.signature?.[0], 0x65);
  const plain = decrypt(sharedKey(a.identity.secpSecret, b.identity.secpPublic), reply!.payload!.data);
  assert.equal(Buffer.from(plain).toString(), '{"x":1}');
});

test('handle: thrown error, unknown command and undefined result map to the documented replies', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pa = await startPeer(t, a, [relay.url], twins);
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.handle('boom', () => {
    throw new Error('disk on fire');
  });
  pb.handle('nothing', () => undefined);
  await assert.rejects(pa.request(2, 'boom', {}), (e: unknown) => e instanceof RmbError && e.code === 0 && e.message === 'disk on fire' && !e.fromRelay);
  await assert.rejects(pa.request(2, 'nope', {}), (e: unknown) => e instanceof RmbError && e.message === 'function is not found');
  assert.equal(await pa.request(2, 'nothing'), null);
});

test('request: relay errors reject with RmbError and unknown twins fail locally', async (t) => {
  const a = await makeTwin(1);
  const ghost = await makeTwin(9);
  const noRelay = await makeTwin(10, 'sr25519', null);
  const peerTwins = directory(a, ghost, noRelay);
  const relay = await startRelay(t, { twins: directory(a, noRelay) });
  const pa = await startPeer(t, a, [relay.url], peerTwins);
  await assert.rejects(pa.request(9, 'x', {}), (e: unknown) => e instanceof RmbError && e.fromRelay && e.message === 'unknown twin destination');
  await assert.rejects(pa.request(10, 'x', {}), (e: unknown) => e instanceof RmbError && e.message === 'relay info is not set for this twin');
  await assert.rejects(pa.request(77, 'x', {}), (e: unknown) => e instanceof RelayClientError && e.code === 'ERR_UNKNOWN_TWIN');
});

test('request: times out with TimeoutError when nobody answers', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pa = await startPeer(t, a, [relay.url], twins);
  await assert.rejects(pa.request(2, 'x', {}, { timeoutMs: 300 }), TimeoutError);
});

test('request: a reply with a bad signature is dropped (a forger cannot fail the request); the genuine reply still resolves it', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pa = await startPeer(t, a, [relay.url], twins);
  const rb = await RawClient.connect(t, relay.url, b);
  const pending = pa.request(2, 'x', {}, { timeoutMs: 5_000 });
  const [req] = await rb.waitFor(1);
  const reply = { ...signedRequest(b, 1), uid: req!.uid, message: { kind: 'response' as const }, destination: req!.source };
  rb.send({ ...reply, signature: signPrefixed(a.identity, challenge(reply)) }); // signed by the wrong key
  await sleep(200);
  assert.equal(pa.stats.dropped.bad_reply, 1);
  rb.send({ ...reply, signature: signPrefixed(b.identity, challenge(reply)) });
  assert.deepEqual(await pending, { x: 1 });
});

test('handle: a request with a bad signature gets error 104 and never reaches the handler', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pb = await startPeer(t, b, [relay.url], twins);
  let calls = 0;
  pb.handle('echo', () => ++calls);
  const ra = await RawClient.connect(t, relay.url, a);
  const req = signedRequest(a, 2);
  ra.send({ ...req, signature: signPrefixed(b.identity, challenge(req)) });
  const [reply] = await ra.waitFor(1);
  assert.deepEqual(reply!.message, { kind: 'error', code: 104, message: 'invalid envelope signature' });
  assert.equal(calls, 0);
});

test('handle: a forged copy of a request does not use up its id (recorded only once the signature holds); a replay of the real one is dropped', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.handle('echo', (p) => p);
  const ra = await RawClient.connect(t, relay.url, a);
  await assertForgeryKeepsId(ra, pb, b, signedRequest(a, 2, { message: { kind: 'request', command: 'echo' } }));
});

test('handle: an expired request is dropped without a reply; a replayed one is answered once', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pb = await startPeer(t, b, [relay.url], twins);
  let calls = 0;
  pb.handle('echo', () => ++calls);
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send(signedRequest(a, 2, { timestamp: Math.floor(Date.now() / 1000) - 100, expiration: 100 }));
  const req = signedRequest(a, 2);
  ra.send(req);
  ra.send(req);
  await ra.waitFor(1);
  await sleep(300);
  assert.equal(ra.received.length, 1);
  assert.equal(ra.received[0]!.uid, req.uid);
  assert.equal(calls, 1);
  assert.equal(pb.stats.dropped.replay, 1);
  assert.equal(pb.stats.dropped.request_102, 1);
});

test('handle: undecryptable cipher gets error 106', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  await startPeer(t, b, [relay.url], twins);
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send(signedRequest(a, 2, { payload: { kind: 'cipher', data: new Uint8Array(40).fill(7) } }));
  const [reply] = await ra.waitFor(1);
  assert.equal(reply!.message?.kind, 'error');
  assert.equal((reply!.message as { code: number }).code, 106);
});

test('request: falls back to plain payloads while our own pk is not on chain', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  twins.set({ ...a.twin, pk: null });
  const pa = await startPeer(t, a, [relay.url], twins);
  const rb = await RawClient.connect(t, relay.url, b);
  void pa.request(2, 'x', { p: 1 }, { timeoutMs: 2_000 }).catch(() => undefined);
  const [req] = await rb.waitFor(1);
  assert.equal(req!.payload?.kind, 'plain');
  assert.equal(Buffer.from(req!.payload!.data).toString(), '{"p":1}');
});
