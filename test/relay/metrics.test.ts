import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RelayMetrics } from '../../relay/metrics.ts';

test('a fixed-label counter counts into the same series as inc, listed only once counted', () => {
  const m = new RelayMetrics();
  assert.doesNotMatch(m.render(), /kind="delivered"/, 'no series before the first count');
  m.delivered.inc();
  m.delivered.inc();
  m.messages.inc({ kind: 'delivered' });
  m.received.inc();
  assert.match(m.render(), /^rmb_relay_messages_total\{kind="delivered"\} 3$/m);
  assert.match(m.render(), /^rmb_relay_messages_total\{kind="received"\} 1$/m);
  assert.equal(m.messages.get({ kind: 'delivered' }), 3);
  assert.equal(m.messages.values.size, 2);
});
