import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Envelope } from '../../rmb/envelope.ts';
import { PendingRequests, type ReplyChecks } from '../../relay-client/pending.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/**
 * relay-client/pending.ts keeps one timer for all its requests, armed for the earliest deadline:
 * each request still fails at its own deadline (not before, whatever was added or answered in
 * between), an answered one never times out, and failAll leaves no timer behind.
 */
test('pending: one timer, each request times out at its own deadline, answered ones never', async () => {
  const clock = new FakeClock();
  const pending = new PendingRequests<number>(clock, () => 1);
  const outcome = new Map<string, string>();
  const add = (uid: string, ms: number) =>
    pending.add(uid, 7, `cmd.${uid}`, ms, new Uint8Array(0)).then(
      (v) => outcome.set(uid, `ok ${JSON.stringify(v)}`),
      (e: Error) => outcome.set(uid, `${e.name}: ${e.message} at +${clock.now() - start}`),
    );
  const start = clock.now();
  const checks: ReplyChecks = { open: () => ({ ok: true, twin: { id: 7, accountId: new Uint8Array(32), relay: null, pk: null }, payload: new TextEncoder().encode('1') }), drop: () => {} };
  const reply = (uid: string) => pending.onReply({ uid, timestamp: 0, expiration: 0, relays: [], source: { twin: 7 }, message: { kind: 'response' } } as Envelope, checks);
  const all = [add('a', 3_000), add('b', 1_000), add('c', 5_000)];
  await clock.advance(500);
  reply('b'); // the earliest deadline is answered: its timer stays armed, but b must not fail
  all.push(add('d', 700)); // deadline +1 200, before a's
  await clock.advance(699);
  assert.equal(outcome.get('d'), undefined, 'nothing before its deadline');
  await clock.advance(1);
  await clock.advance(3_300);
  all.push(add('e', 100)); // +4 600, before c's deadline (+5 000), which is answered first
  reply('c');
  await clock.advance(10_000);
  await Promise.all(all);
  assert.deepEqual(Object.fromEntries(outcome), {
    b: 'ok 1',
    d: 'TimeoutError: no response to cmd.d from twin 7 after 700 ms at +1200',
    a: 'TimeoutError: no response to cmd.a from twin 7 after 3000 ms at +3000',
    c: 'ok 1',
    e: 'TimeoutError: no response to cmd.e from twin 7 after 100 ms at +4600',
  });
});

test('pending: failAll fails every request and leaves no timer', async () => {
  const clock = new FakeClock();
  const pending = new PendingRequests<number>(clock, () => 1);
  const failed: string[] = [];
  const p = [pending.add('x', 7, 'cmd.x', 30_000, new Uint8Array(0)).catch((e: Error) => failed.push(e.message))];
  pending.failAll(new Error('closed'));
  await Promise.all(p);
  assert.deepEqual(failed, ['closed']);
  assert.equal((clock as unknown as { timers: Map<number, unknown> }).timers.size, 0, 'no timer left armed');
});
