import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Twin, TwinDirectory } from '../../rmb/twins.ts';
import type { QueueStore } from '../../relay/store.ts';
import { directory, makeTwin, RawClient, signedRequest, startRelay } from './fixture.ts';

/** Twins 1 and 2 behind a directory that can be made to fail (a chain outage) after the sessions are up. */
async function setup(t: import('node:test').TestContext) {
  const a = await makeTwin(1);
  const b = await makeTwin(2);
  const base = directory(a, b);
  const outage = { on: false };
  const twins: TwinDirectory = {
    getTwin: (id: number): Promise<Twin | null> => (outage.on ? Promise.reject(new Error('chain unreachable')) : base.getTwin(id)),
  };
  const relay = await startRelay(t, { twins });
  return { a, b, relay, outage };
}

const errorOf = (e: { message?: { kind: string; message?: string } }) => (e.message?.kind === 'error' ? e.message.message : `not an error: ${e.message?.kind}`);

test('relay: a failed twin lookup answers the sender with an error envelope, keeps the relay up, and routing works once the chain is back', async (t) => {
  const { a, b, relay, outage } = await setup(t);
  const ra = await RawClient.connect(t, relay.url, a);
  outage.on = true;
  ra.send(signedRequest(a, 2, { uid: 'during-outage' }));
  const [refused] = await ra.waitFor(1);
  assert.equal(refused!.uid, 'during-outage');
  assert.match(errorOf(refused!) ?? '', /^failed to route message to peer: chain unreachable/);
  outage.on = false; // an error is not cached like an unknown twin: the next message looks again
  ra.send(signedRequest(a, 2, { uid: 'after-outage' }));
  const rb = await RawClient.connect(t, relay.url, b);
  const [got] = await rb.waitFor(1);
  assert.equal(got!.uid, 'after-outage');
  assert.equal(ra.received.length, 1, 'no second error');
});

test('relay: a queue store that fails to append answers the sender with an error envelope; nothing is lost once it works again', async (t) => {
  const { a, b, relay } = await setup(t);
  const store = (relay as unknown as { store: QueueStore }).store;
  const append = store.append.bind(store);
  let failing = true;
  store.append = (key, bytes) => (failing ? Promise.reject(new Error('disk I/O error')) : append(key, bytes));
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send(signedRequest(a, 2, { uid: 'not-stored' })); // b is offline: the message must be queued
  const [refused] = await ra.waitFor(1);
  assert.equal(refused!.uid, 'not-stored');
  assert.equal(errorOf(refused!), 'failed to route message to peer: disk I/O error');
  failing = false;
  ra.send(signedRequest(a, 2, { uid: 'stored' }));
  await new Promise((r) => setTimeout(r, 100));
  const rb = await RawClient.connect(t, relay.url, b);
  assert.deepEqual((await rb.waitFor(1)).map((e) => e.uid), ['stored']);
  assert.equal(ra.received.length, 1);
});
