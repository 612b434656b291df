import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachedTwinDirectory, twinRelays, type Twin, type TwinDirectory } from '../../rmb/twins.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const twin = (id: number, relay: string | null = 'r.test'): Twin => ({ id, accountId: new Uint8Array(32).fill(id), relay, pk: null });

/** Backend that counts lookups and can be changed or made to fail. */
class CountingDirectory implements TwinDirectory {
  calls = 0;
  fail = false;
  readonly twins = new Map<number, Twin>();
  async getTwin(id: number): Promise<Twin | null> {
    this.calls++;
    await new Promise((r) => setImmediate(r));
    if (this.fail) throw new Error('chain down');
    return this.twins.get(id) ?? null;
  }
}

function setup() {
  const clock = new FakeClock();
  const backend = new CountingDirectory();
  const cache = new CachedTwinDirectory(backend, { ttlMs: 60_000, negativeTtlMs: 5_000, clock, maxEntries: 3 });
  return { clock, backend, cache };
}

test('twin cache: serves hits until the TTL, then asks again', async () => {
  const { clock, backend, cache } = setup();
  backend.twins.set(1, twin(1));
  await cache.getTwin(1);
  await cache.getTwin(1);
  assert.equal(backend.calls, 1);
  await clock.advance(60_000);
  backend.twins.set(1, twin(1, 'new.test'));
  assert.equal((await cache.getTwin(1))?.relay, 'new.test');
  assert.equal(backend.calls, 2);
});

test('twin cache: remembers "not found" only briefly', async () => {
  const { clock, backend, cache } = setup();
  assert.equal(await cache.getTwin(2), null);
  backend.twins.set(2, twin(2));
  assert.equal(await cache.getTwin(2), null);
  await clock.advance(5_000);
  assert.equal((await cache.getTwin(2))?.id, 2);
});

test('twin cache: invalidate(id) forces a fresh lookup', async () => {
  const { backend, cache } = setup();
  backend.twins.set(1, twin(1));
  await cache.getTwin(1);
  cache.invalidate(1);
  await cache.getTwin(1);
  assert.equal(backend.calls, 2);
});

test('twin cache: concurrent lookups share one backend call; a failure is remembered for failureTtlMs only', async () => {
  const { clock, backend, cache } = setup();
  backend.twins.set(1, twin(1));
  backend.fail = true;
  const all = await Promise.allSettled([cache.getTwin(1), cache.getTwin(1), cache.getTwin(1)]);
  assert.equal(backend.calls, 1);
  assert.ok(all.every((r) => r.status === 'rejected'));
  backend.fail = false;
  // A burst right after a failure costs no further chain query (default failureTtlMs 2 s).
  await assert.rejects(cache.getTwin(1), /chain down/);
  assert.equal(backend.calls, 1);
  await clock.advance(2_000);
  assert.equal((await cache.getTwin(1))?.id, 1);
  assert.equal(backend.calls, 2);
});

test('twin cache: bounded, evicting the oldest entry', async () => {
  const { backend, cache } = setup();
  for (const id of [1, 2, 3, 4]) backend.twins.set(id, twin(id));
  for (const id of [1, 2, 3, 4]) await cache.getTwin(id);
  await cache.getTwin(4);
  await cache.getTwin(1);
  assert.equal(backend.calls, 5, 'twin 1 was evicted, twin 4 was not');
});

test('twinRelays: splits the "_" joined relay field', () => {
  assert.deepEqual(twinRelays(twin(1, 'a.test_b.test')), ['a.test', 'b.test']);
  assert.deepEqual(twinRelays(twin(1, null)), []);
  assert.deepEqual(twinRelays(twin(1, '')), []);
});

test('twin cache: peek answers a live hit now and is undefined where getTwin would have to ask', async () => {
  const { clock, backend, cache } = setup();
  backend.twins.set(1, twin(1));
  assert.equal(cache.peek(1), undefined, 'never looked up');
  await cache.getTwin(1);
  assert.equal(cache.peek(1)?.id, 1);
  assert.equal(await cache.getTwin(2), null);
  assert.equal(cache.peek(2), null, '"not found" is known too');
  await clock.advance(60_000);
  assert.equal(cache.peek(1), undefined, 'expired');
  backend.fail = true;
  await assert.rejects(cache.getTwin(3));
  assert.equal(cache.peek(3), undefined, 'a remembered failure is not an answer');
  assert.equal(backend.calls, 3);
});
