import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Switch } from '../../relay/switch.ts';
import { addressKey } from '../../rmb/envelope.ts';
import { startPeer, twoTwins } from './fixture.ts';

/**
 * Seen in the chaos storm under load (2026-12-02): the relay stopped routing to a node's session
 * while the node's socket stayed open, and queued everything for it (162 requests in 3 min). The
 * node, which then counted WebSocket pongs as signs of life, never noticed: ws answers pings by
 * itself, session or not. Now a peer pings with envelopes, which the relay answers only on the
 * session it has registered for the sender, and counts only envelopes.
 */
test('liveness: a peer whose session the relay lost (socket still open) reconnects by its ping envelopes and gets what was queued meanwhile', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const pa = await startPeer(t, a, [relay.url], twins);
  const pb = await startPeer(t, b, [relay.url], twins, { pingIntervalMs: 200, silenceTimeoutMs: 700 });
  let served = 0;
  pb.handle('echo', (p) => (served++, p));
  assert.deepEqual(await pa.request(2, 'echo', { n: 1 }, { timeoutMs: 5_000 }), { n: 1 });

  // The relay forgets b's session without closing its socket: what reaches the relay for b is queued.
  const sw = (relay as unknown as { switch: Switch }).switch;
  const lost = sw.sessions.get(addressKey({ twin: 2 }))!;
  sw.unregister(lost);
  assert.equal(lost.isClosed, false, 'the socket stays open');
  const started = Date.now();
  assert.deepEqual(await pa.request(2, 'echo', { n: 2 }, { timeoutMs: 5_000 }), { n: 2 }, 'answered once b reconnected and got its queue');
  const took = Date.now() - started;
  assert.ok(took >= 300 && took < 3_000, `within the silence timeout and a redial (${took} ms)`);
  assert.notEqual(sw.sessions.get(addressKey({ twin: 2 })), lost, 'a new session');
  assert.equal(served, 2);
});
