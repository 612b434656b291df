import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitDisk, admitMemory } from '../../../node/engine/admission.ts';
import { ZosError } from '../../../node/errors.ts';

const GiB = 2 ** 30;
const cap = (mru: number, sru = 0) => ({ cru: 0, mru, sru, hru: 0, ipv4u: 0 });
const code = (fn: () => void) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof ZosError, String(err));
    return err.code;
  }
};

test('admission by memory: usable = total - max(active MRU + reserve, total - available), as zos computes it', () => {
  const mem = { total: 16 * GiB, available: 12 * GiB, reserved: 2 * GiB };
  // Booked: 6 GiB active + 2 GiB reserve = 8 GiB used, 8 GiB usable (the host uses only 4).
  assert.equal(code(() => admitMemory(cap(8 * GiB), 6 * GiB, mem)), 'ok');
  assert.equal(code(() => admitMemory(cap(8 * GiB + 1), 6 * GiB, mem)), 'INSUFFICIENT_MEMORY');
  // The host itself uses more than is booked: what is really available counts.
  assert.equal(code(() => admitMemory(cap(5 * GiB), 0, { ...mem, available: 4 * GiB })), 'INSUFFICIENT_MEMORY');
  assert.equal(code(() => admitMemory(cap(4 * GiB), 0, { ...mem, available: 4 * GiB })), 'ok');
  // Over-committed already: no negative usable in the message, and a disk-only workload still passes.
  assert.throws(() => admitMemory(cap(1), 20 * GiB, mem), /0/);
  assert.equal(code(() => admitMemory(cap(0, GiB), 20 * GiB, mem)), 'ok');
});

test('admission by disk: active SRU + reserve + required within total SRU', () => {
  assert.equal(code(() => admitDisk(cap(0, 10 * GiB), 80 * GiB, 100 * GiB, 10 * GiB)), 'ok');
  assert.equal(code(() => admitDisk(cap(0, 10 * GiB + 1), 80 * GiB, 100 * GiB, 10 * GiB)), 'INSUFFICIENT_DISK');
});
