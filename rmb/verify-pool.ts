import { WorkerPool } from '../lib/workers.ts';
import { signatureKeyType, verifyPrefixed } from './signature.ts';
import type { VerifyJob } from './verify-worker.ts';

/**
 * Signature checks off the event loop. An sr25519 check costs about 0.3 ms of CPU, most of
 * what a node spends per request: under load the checks run on worker threads so every core
 * verifies. A check with no other one waiting runs inline (no hand-off latency, and an idle
 * process starts no worker); once checks overlap they go to the pool, and until its first
 * worker has started they keep running inline. ed25519 checks always run inline: handing one
 * to a worker and back costs the event loop about as much as the check itself (bench/relay.ts).
 */
let pool: WorkerPool<VerifyJob, boolean> | null = null;
let inline = 0;
/** Where checks ran (for tests and benchmarks). */
export const verifyStats = { inline: 0, pooled: 0 };

/**
 * The verdict now when the check runs inline (most checks at one in flight: no promise and no
 * microtask on the message path), else a promise of it from the pool.
 */
export function verifyPrefixedPooled(sig: Uint8Array | undefined, msg: Uint8Array, accountId: Uint8Array): boolean | Promise<boolean> {
  if (!sig) return false;
  if (signatureKeyType(sig) !== 'sr25519') {
    verifyStats.inline++;
    return verifyPrefixed(sig, msg, accountId);
  }
  if (inline === 0 && (pool === null || pool.pending === 0)) {
    inline++;
    verifyStats.inline++;
    try {
      return verifyPrefixed(sig, msg, accountId);
    } finally {
      // Held until the current callback's end (a read's frames arrive in one callback), so the
      // other checks of a burst go to the pool. Not until the loop's iteration ends: a
      // setImmediate costs a round trip ~1.5 µs (rmb/ws.ts sendFrame).
      process.nextTick(() => inline--);
    }
  }
  return pooled(sig, msg, accountId, false);
}

/**
 * The same check, started on a worker at once so that this thread can do other work meanwhile
 * (a read-only request whose handler runs before its verdict, relay-client/responder.ts): the
 * critical path is then the check plus a worker hand-off instead of the check plus that work.
 * Only a pool already running (started by overlapping checks, as above) is used: starting
 * threads for it would cost a quiet node more CPU (tens of ms a start) and memory than any
 * overlap saves. ed25519 checks, and checks while no worker runs, run inline.
 */
export function verifyPrefixedAside(sig: Uint8Array | undefined, msg: Uint8Array, accountId: Uint8Array): boolean | Promise<boolean> {
  if (!sig) return false;
  if (signatureKeyType(sig) !== 'sr25519' || !pool?.warm) {
    verifyStats.inline++;
    return verifyPrefixed(sig, msg, accountId);
  }
  return pooled(sig, msg, accountId, true);
}

function pooled(sig: Uint8Array, msg: Uint8Array, accountId: Uint8Array, now: boolean): boolean | Promise<boolean> {
  pool ??= new WorkerPool<VerifyJob, boolean>(new URL('./verify-worker.ts', import.meta.url));
  if (!pool.warm) {
    pool.warmUp();
    verifyStats.inline++;
    return verifyPrefixed(sig, msg, accountId);
  }
  const job = { sig: sig.slice(), msg: msg.slice(), accountId: accountId.slice() };
  return (now ? pool.runNow(job) : pool.run(job)).then(
    (ok) => {
      verifyStats.pooled++;
      return ok;
    },
    // A worker that failed must not fail a valid message.
    () => verifyPrefixed(sig, msg, accountId),
  );
}
