/**
 * Part of bench/relay.ts: the cryptography one RMB round trip cannot avoid, measured with the
 * same functions the peers use. A request from A (sr25519) to B (ed25519) and its reply cost:
 * 4 challenges (MD5; sign and verify on each side), one sr25519 sign + verify, one ed25519
 * sign + verify, 2 AES-GCM seals + 2 opens (shared keys cached, as in the peers).
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

/** Median of `rounds` batches of `batch` calls, in ms per call (medians shrug off a loaded machine's spikes). */
function medianMs(fn: () => unknown, rounds = 15, batch = 40): number {
  for (let i = 0; i < batch; i++) fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    per.push((performance.now() - t) / batch);
  }
  per.sort((x, y) => x - y);
  return per[Math.floor(per.length / 2)]!;
}

export function cryptoFloor(a: Identity, b: Identity, payload: Uint8Array): FloorOp[] {
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
    { name: 'challenge (MD5)', count: 4, ms: medianMs(() => challenge(env)) },
    { name: 'sr25519 sign', count: 1, ms: medianMs(() => signPrefixed(a, digest)) },
    { name: 'sr25519 verify', count: 1, ms: medianMs(() => verifyPrefixed(srSig, digest, a.accountId)) },
    { name: 'ed25519 sign', count: 1, ms: medianMs(() => signPrefixed(b, digest)) },
    { name: 'ed25519 verify', count: 1, ms: medianMs(() => verifyPrefixed(edSig, digest, b.accountId)) },
    { name: 'AES-GCM seal', count: 2, ms: medianMs(() => encrypt(key, payload)) },
    { name: 'AES-GCM open', count: 2, ms: medianMs(() => decrypt(key, sealed)) },
  ];
}
