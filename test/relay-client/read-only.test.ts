import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { challenge } from '../../relay-client/challenge.ts';
import { FasterOf } from '../../relay-client/faster-of.ts';
import { readOnly, Router } from '../../relay-client/router.ts';
import { signPrefixed } from '../../rmb/signature.ts';
import { verifyPrefixedAside, verifyPrefixedPooled, verifyStats } from '../../rmb/verify-pool.ts';
import { assertForgeryKeepsId, RawClient, signedRequest, sleep, startPeer, twoTwins, type TestTwin } from '../relay/fixture.ts';

/**
 * A read-only handler may run while its request's sr25519 check is still on a worker thread
 * (responder.ts, the 'aside' way); nothing of it may leave the peer before the verdict, and a
 * forged request must not use up the id of a real one. The tests start the verify pool first and
 * make the peer take the aside way (as if checking first had been slow), so that the checks
 * really go to a worker and the handler really runs before the verdict.
 */
async function warmPool(who: TestTwin): Promise<void> {
  const msg = new Uint8Array(16);
  const sig = signPrefixed(who.identity, msg);
  const deadline = Date.now() + 20_000;
  for (;;) {
    // Two checks in one tick overlap: the second starts the pool (verifyPrefixedPooled).
    await Promise.all([verifyPrefixedPooled(sig, msg, who.identity.accountId), verifyPrefixedPooled(sig, msg, who.identity.accountId)]);
    const v = verifyPrefixedAside(sig, msg, who.identity.accountId);
    if (v instanceof Promise) return assert.equal(await v, true);
    assert.ok(Date.now() < deadline, 'the verify pool started');
    await sleep(20);
  }
}

/**
 * Twins 1 (a) and 2 (b) with the verify pool started; b's peer takes the aside way for read-only
 * commands (every 16th request would try the other way) and serves 'ro', an echo marked readOnly.
 */
async function asideGrid(t: TestContext) {
  const { a, b, twins, relay } = await twoTwins(t);
  await warmPool(a);
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.responder.ways.record('inline', 1e9);
  pb.handle('ro', readOnly((p) => p));
  return { a, b, pb, relay, twins };
}

/** A request signed by the wrong key (b's), as a forger would send it. */
function forged(a: TestTwin, b: TestTwin, command: string) {
  const req = signedRequest(a, 2, { message: { kind: 'request', command } });
  return { ...req, signature: signPrefixed(b.identity, challenge(req)) };
}

test('Router.isReadOnly: only handlers marked readOnly (and unknown commands, whose answer changes nothing)', () => {
  const r = new Router();
  r.handle('ro', readOnly(() => 1));
  r.handle('rw', () => 2);
  assert.equal(r.isReadOnly('ro'), true);
  assert.equal(r.isReadOnly('rw'), false);
  assert.equal(r.isReadOnly('none'), true);
});

test('FasterOf: tries each way once, then takes the cheaper one and probes the other, the rarer the dearer it is', () => {
  const f = new FasterOf<'x' | 'y'>(['x', 'y'], 4);
  const count = (n: number) => Array.from({ length: n }, () => f.pick()).filter((w) => w === 'x').length;
  assert.equal(f.pick(), 'x');
  f.record('x', 0.3);
  assert.equal(f.pick(), 'y');
  f.record('y', 0.2);
  assert.equal(count(32), 4, 'x, 1.5x dearer, every 2 x 4 picks');
  for (let i = 0; i < 100; i++) f.record('y', 0.03);
  assert.ok(count(96) === 3, 'x, 10x dearer, every 8 x 4 picks (the longest gap)');
  f.record('x', 1000); // one stall counts 3x the average at most
  assert.ok(f.costOf('x')! < 0.3 + (0.9 - 0.3) / 16 + 1e-9);
  for (let i = 0; i < 100; i++) f.record('y', 0.5); // y became dear: the average follows
  assert.ok(f.costOf('y')! > f.costOf('x')!);
  assert.equal(count(16), 14, 'now x is taken, y probed every 2 x 4 picks');
  for (let i = 0; i < 100; i++) f.record('y', 0.3); // y is now ~10% cheaper than x: not enough to leave x
  assert.ok(f.costOf('y')! < f.costOf('x')!);
  assert.equal(count(16), 12, 'x still taken, y probed every 4 picks');
});

test('read-only: by default both ways are measured, and requests are answered either way; a quiet peer starts no worker for them', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pa = await startPeer(t, a, [relay.url], twins);
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.handle('get', readOnly((p) => p));
  const msg = new Uint8Array(16);
  const sig = signPrefixed(a.identity, msg);
  assert.equal(verifyPrefixedAside(sig, msg, a.identity.accountId), true, 'no pool running: checked inline');
  for (let i = 0; i < 4; i++) assert.deepEqual(await pa.request(2, 'get', { i }), { i });
  assert.ok(pb.responder.ways.costOf('inline')! > 0 && pb.responder.ways.costOf('aside')! > 0);
  await sleep(1_000); // a worker started by the aside way would be up by now
  assert.equal(verifyPrefixedAside(sig, msg, a.identity.accountId), true, 'the aside way started no worker on a quiet peer');
});

test('read-only: a valid request is checked on a worker and answered; sync and async handlers', async (t) => {
  const { a, pb, relay, twins } = await asideGrid(t);
  const pa = await startPeer(t, a, [relay.url], twins);
  pb.handle('later', readOnly(async (p) => ({ later: p })));
  const before = verifyStats.pooled;
  assert.deepEqual(await pa.request(2, 'ro', { k: 1 }), { k: 1 });
  assert.deepEqual(await pa.request(2, 'later', [2]), { later: [2] });
  assert.ok(verifyStats.pooled >= before + 2, 'both sr25519 checks ran on a worker');
});

test('read-only: a forged request ran its handler but gets only error 104; a non-readOnly handler never runs', async (t) => {
  const { a, b, pb, relay } = await asideGrid(t);
  const calls = { ro: 0, rw: 0 };
  pb.handle('ro-count', readOnly(() => ++calls.ro));
  pb.handle('rw', () => ++calls.rw);
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send(forged(a, b, 'ro-count'));
  ra.send(forged(a, b, 'rw'));
  const replies = await ra.waitFor(2);
  await sleep(200);
  assert.equal(ra.received.length, 2, 'nothing but the two errors came back');
  for (const r of replies) assert.deepEqual(r.message, { kind: 'error', code: 104, message: 'invalid envelope signature' });
  assert.equal(calls.ro, 1, 'the read-only handler ran before the verdict (the check was on a worker)');
  assert.equal(calls.rw, 0);
  assert.equal(pb.stats.dropped.request_104, 2);
});

test('read-only: a forged request does not use up the id of the real one; a replay of the real one is dropped', async (t) => {
  const { a, b, pb, relay } = await asideGrid(t);
  const ra = await RawClient.connect(t, relay.url, a);
  await assertForgeryKeepsId(ra, pb, b, signedRequest(a, 2, { message: { kind: 'request', command: 'ro' } }));
});

test('read-only: a forged request with an undecryptable payload answers 104, as the checks in order would', async (t) => {
  const { a, b, pb, relay } = await asideGrid(t);
  const ra = await RawClient.connect(t, relay.url, a);
  const req = signedRequest(a, 2, { message: { kind: 'request', command: 'ro' }, payload: { kind: 'cipher', data: new Uint8Array(40).fill(7) } });
  ra.send({ ...req, signature: signPrefixed(b.identity, challenge(req)) });
  ra.send(req);
  const replies = await ra.waitFor(2);
  assert.deepEqual(replies.map((r) => (r.message as { code?: number }).code).sort(), [104, 106]);
});
