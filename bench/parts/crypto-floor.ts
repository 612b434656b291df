/**
 * Part of bench/relay.ts: the cryptography one RMB round trip cannot avoid, measured with the
 * same functions the peers use. A request from A (sr25519) to B (ed25519) and its reply cost:
 * 4 challenges (MD5; sign and verify on each side), one sr25519 sign + verify, one ed25519
 * sign + verify, 2 AES-GCM seals + 2 opens (shared keys cached, as in the peers).
 * bench/relay.ts measures it once per round, between its RMB and echo samples, so that the floor
 * and the round trip it is compared with see the same machine (a shared machine's load moves
 * both by tens of percent within a minute).
 */
import { performance } from 'node:perf_hooks';
import { challenge } from '../../relay-client/challenge.ts';
import { decrypt, encrypt, sharedKey } from '../../relay-client/e2e.ts';
import type { Identity } from '../../relay-client/identity.ts';
import type { Envelope } from '../../rmb/envelope.ts';
import { signPrefixed, verifyPrefixed } from '../../rmb/signature.ts';

export interface FloorOp {
  name: string;
  /** Times per round trip. */
  count: number;
  /** Median ms of one operation. */
  ms: number;
}

/**
 * Median of `rounds` batches, in ms per call. Each batch runs about `batchMs` (a few calls of a
 * slow operation, many of a fast one), as long as one RMB round trip: on a loaded machine a longer
 * batch is nearly always cut by the scheduler while most round trips are not, which inflated the
 * floor (medians then shrug off the batches that were cut, as the p50 does for round trips).
 */
function medianMs(fn: () => unknown, rounds: number, batchMs: number): number {
  let t = performance.now();
  for (let i = 0; i < 3; i++) fn();
  const batch = Math.max(1, Math.round(batchMs / Math.max(1e-4, (performance.now() - t) / 3)));
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    per.push((performance.now() - t) / batch);
  }
  per.sort((x, y) => x - y);
  return per[Math.floor(per.length / 2)]!;
}

/** Milliseconds of one round trip's crypto: the sum of count x median over `ops`. */
export function floorCryptoMs(ops: FloorOp[]): number {
  return ops.reduce((t, o) => t + o.count * o.ms, 0);
}

interface FloorStep {
  name: string;
  count: number;
  run: () => unknown;
}

/** The operations of one round trip, ready to run. */
function floorSteps(a: Identity, b: Identity, payload: Uint8Array): FloorStep[] {
  const key = sharedKey(a.secpSecret, b.secpPublic);
  const sealed = encrypt(key, payload);
  const env: Envelope = {
    uid: '6f1d2c0e-9a55-4a54-8b0e-1d2a3b4c5d6e', tags: '', timestamp: 1700000000, expiration: 30,
    source: { twin: 1 }, destination: { twin: 2 }, message: { kind: 'request', command: 'zos.deployment.get' },
    schema: 'application/json', payload: { kind: 'cipher', data: sealed }, relays: ['relay.bench'],
  };
  const digest = challenge(env);
  const srSig = signPrefixed(a, digest);
  const edSig = signPrefixed(b, digest);
  return [
    { name: 'challenge (MD5)', count: 4, run: () => challenge(env) },
    { name: 'sr25519 sign', count: 1, run: () => signPrefixed(a, digest) },
    { name: 'sr25519 verify', count: 1, run: () => verifyPrefixed(srSig, digest, a.accountId) },
    { name: 'ed25519 sign', count: 1, run: () => signPrefixed(b, digest) },
    { name: 'ed25519 verify', count: 1, run: () => verifyPrefixed(edSig, digest, b.accountId) },
    { name: 'AES-GCM seal', count: 2, run: () => encrypt(key, payload) },
    { name: 'AES-GCM open', count: 2, run: () => decrypt(key, sealed) },
  ];
}

export function cryptoFloor(a: Identity, b: Identity, payload: Uint8Array, rounds = 25, batchMs = 0.25): FloorOp[] {
  return floorSteps(a, b, payload).map((s) => ({ name: s.name, count: s.count, ms: medianMs(s.run, rounds, batchMs) }));
}

/** One round trip's crypto, every operation as many times as a round trip needs it (for a rate). */
export function floorRoundTrip(a: Identity, b: Identity, payload: Uint8Array): () => void {
  const steps = floorSteps(a, b, payload);
  return () => {
    for (const s of steps) for (let i = 0; i < s.count; i++) s.run();
  };
}
