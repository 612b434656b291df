import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MemoryReplayBackend, ReplayCache, SqliteReplayBackend } from '../../relay-client/replay.ts';
import { nowS, RawClient, signedRequest, sleep, startPeer, twoTwins } from '../relay/fixture.ts';

/** Replay protection (issue 14 item 2): persisted, never forgetting a live entry, capped expiry. */

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const backends = {
  memory: () => new MemoryReplayBackend(),
  sqlite: (t: TestContext) => new SqliteReplayBackend(join(tempDir(t), 'replay.sqlite')),
};

for (const [name, make] of Object.entries(backends)) {
  test(`replay cache (${name}): when full of live entries it refuses new work rather than forget one early`, (t) => {
    const cache = new ReplayCache(make(t), 3);
    t.after(() => cache.close());
    const now = 1_000_000;
    assert.deepEqual(['a', 'b', 'c'].map((k, i) => cache.add(k, now + 1_000 * (i + 1), now)), ['new', 'new', 'new']);
    // Before this fix the oldest entry was evicted here, and 'a' could then be replayed.
    assert.equal(cache.add('d', now + 5_000, now), 'full');
    assert.equal(cache.add('a', now + 1_000, now + 10), 'replay');
    // Once 'a' expired its place is free.
    assert.equal(cache.add('d', now + 5_000, now + 1_000), 'new');
    assert.equal(cache.add('a', now + 9_000, now + 2_000), 'new', 'an expired id may come again');
    assert.equal(cache.size, 3);
  });
}

for (const [name, make] of Object.entries(backends)) {
  test(`replay cache (${name}): expired entries are pruned as it grows, long before it is full, and no live one is`, (t) => {
    const cache = new ReplayCache(make(t));
    t.after(() => cache.close());
    const now = 1_000_000;
    for (let i = 0; i < 5_000; i++) assert.equal(cache.add(`old-${i}`, now + 1_000, now), 'new');
    for (let i = 0; i < 5_000; i++) assert.equal(cache.add(`new-${i}`, now + 60_000, now + 2_000), 'new');
    // Before, nothing was pruned until a million entries: 10 000 here.
    assert.ok(cache.size < 10_000, `expired entries pruned (${cache.size} left)`);
    for (let i = 0; i < 5_000; i += 97) assert.equal(cache.add(`new-${i}`, now + 60_000, now + 3_000), 'replay');
  });
}

test('replay cache (sqlite): entries survive reopening', (t) => {
  const path = join(tempDir(t), 'replay.sqlite');
  const first = new ReplayCache(new SqliteReplayBackend(path));
  first.add('k', Date.now() + 60_000, Date.now());
  first.close();
  const again = new ReplayCache(new SqliteReplayBackend(path));
  t.after(() => again.close());
  assert.equal(again.size, 1);
  assert.equal(again.add('k', Date.now() + 60_000, Date.now()), 'replay');
});

test('peer: a request replayed after the peer restarts is not run again (persisted replay cache)', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  const path = join(tempDir(t), 'replay.sqlite');
  let calls = 0;
  const first = await startPeer(t, b, [relay.url], twins, { replay: new SqliteReplayBackend(path) });
  first.handle('echo', () => ++calls);
  const ra = await RawClient.connect(t, relay.url, a);
  const req = signedRequest(a, 2);
  ra.send(req);
  await ra.waitFor(1);
  await first.close();
  const second = await startPeer(t, b, [relay.url], twins, { replay: new SqliteReplayBackend(path) });
  second.handle('echo', () => ++calls);
  ra.send(req);
  for (let i = 0; i < 100 && !second.stats.dropped.replay; i++) await sleep(20);
  assert.equal(second.stats.dropped.replay, 1);
  assert.equal(calls, 1);
});

test('peer: a request claiming to expire more than an hour ahead is refused with an error, the handler never runs', async (t) => {
  const { a, b, twins, relay } = await twoTwins(t);
  let calls = 0;
  const pb = await startPeer(t, b, [relay.url], twins);
  pb.handle('echo', () => ++calls);
  const ra = await RawClient.connect(t, relay.url, a);
  ra.send(signedRequest(a, 2, { uid: 'far', expiration: 10 * 365 * 86_400 }));
  ra.send(signedRequest(a, 2, { uid: 'late', timestamp: nowS() + 7_200, expiration: 60 }));
  ra.send(signedRequest(a, 2, { uid: 'ok', expiration: 3_000 }));
  const replies = await ra.waitFor(3);
  const byUid = Object.fromEntries(replies.map((r) => [r.uid, r.message]));
  assert.deepEqual(byUid.far, { kind: 'error', code: 500, message: 'envelope expires more than 3600 s from now' });
  assert.deepEqual(byUid.late, { kind: 'error', code: 500, message: 'envelope expires more than 3600 s from now' });
  assert.equal(byUid.ok?.kind, 'response');
  assert.equal(calls, 1);
});

test('replay cache (sqlite): a burst is written in one go once the event loop turns, and close() writes what is left', async (t) => {
  const path = join(tempDir(t), 'replay.sqlite');
  const now = Date.now();
  const cache = new ReplayCache(new SqliteReplayBackend(path));
  for (let i = 0; i < 50; i++) assert.equal(cache.add(`k${i}`, now + 60_000, now), 'new');
  assert.equal(cache.add('k7', now + 60_000, now), 'replay', 'an unwritten entry already counts');
  await new Promise((r) => setImmediate(r));
  const other = new SqliteReplayBackend(path);
  assert.equal(other.size(), 50, 'written after the turn');
  other.close();
  cache.add('last', now + 60_000, now);
  cache.close();
  const again = new ReplayCache(new SqliteReplayBackend(path));
  t.after(() => again.close());
  assert.equal(again.add('last', now + 60_000, now), 'replay');
});
