import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedKeyCache } from '../../relay-client/e2e.ts';
import { createIdentity, type Identity } from '../../relay-client/identity.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { Router } from '../../relay-client/router.ts';
import { openEnvelope, sealRequest, type SealContext } from '../../relay-client/seal.ts';
import { MemoryTwinDirectory, type Twin, type TwinDirectory } from '../../rmb/twins.ts';

/**
 * The message path answers without a promise where nothing waits (each await is a microtask
 * turn on a round trip): a cached twin with an inline signature check opens synchronously, a
 * synchronous handler dispatches synchronously; the same checks still apply.
 */
const twinOf = (id: number, i: Identity): Twin => ({ id, accountId: i.accountId, relay: 'r.test', pk: i.secpPublic });
const ctxOf = (i: Identity, id: number): SealContext => ({ identity: i, twinId: id, relayHosts: ['r.test'], encrypt: true, keys: new SharedKeyCache(i.secpSecret) });

test('openEnvelope: synchronous with a cached twin, a promise with a lookup; same verdicts', async () => {
  const [a, b] = await Promise.all([createIdentity('0x' + '0a'.repeat(32), 'ed25519'), createIdentity('0x' + '0b'.repeat(32), 'sr25519')]);
  const memory = new MemoryTwinDirectory([twinOf(1, a), twinOf(2, b)]);
  const lookupOnly: TwinDirectory = { getTwin: (id) => memory.getTwin(id) };
  const nowS = Math.floor(Date.now() / 1000);
  for (const [from, id] of [[a, 1], [b, 2]] as const) {
    const env = sealRequest(ctxOf(from, id), { uid: `u${id}`, dest: twinOf(3 - id, id === 1 ? b : a), command: 'x', payload: new TextEncoder().encode('{"k":1}'), nowS, expirationS: 30 });
    const receiver = ctxOf(id === 1 ? b : a, 3 - id);
    const now = openEnvelope(receiver, env, memory, nowS);
    assert.ok(!(now instanceof Promise), 'cached twin, inline check: no promise');
    assert.ok(now.ok && new TextDecoder().decode(now.payload) === '{"k":1}');
    const later = openEnvelope(receiver, env, lookupOnly, nowS);
    assert.ok(later instanceof Promise);
    assert.deepEqual(await later, now);
    env.signature![10]! ^= 1;
    const bad = openEnvelope(receiver, env, memory, nowS);
    assert.ok(!(bad instanceof Promise) && !bad.ok && bad.reason === 'invalid envelope signature');
  }
});

test('Router.dispatch: a synchronous handler answers now, an async one by promise, failures as error results', async () => {
  const r = new Router();
  r.handle('sync', (p) => p);
  r.handle('async', async (p) => p);
  r.handle('throws', () => {
    throw new Error('boom');
  });
  r.handle('rejects', async () => {
    throw new Error('later boom');
  });
  r.handle('cycle', () => {
    const o: Record<string, unknown> = {};
    o.o = o;
    return o;
  });
  const body = new TextEncoder().encode('{"a":1}');
  const ctx = (command: string) => ({ twin: 1, uid: 'u', command });
  const now = r.dispatch(body, ctx('sync'));
  assert.ok(!(now instanceof Promise));
  assert.deepEqual(now, { ok: true, json: new TextEncoder().encode('{"a":1}') });
  const later = r.dispatch(body, ctx('async'));
  assert.ok(later instanceof Promise);
  assert.deepEqual(await later, now);
  assert.deepEqual(r.dispatch(body, ctx('throws')), { ok: false, code: 0, message: 'boom' });
  assert.deepEqual(await r.dispatch(body, ctx('rejects')), { ok: false, code: 0, message: 'later boom' });
  assert.equal((r.dispatch(body, ctx('cycle')) as { ok: boolean }).ok, false);
  assert.deepEqual(r.dispatch(new Uint8Array([0xff]), ctx('sync')), { ok: false, code: 0, message: 'invalid json payload' });
});

test('RelayPeer.request: no async wrapper, yet every failure is a rejection, never a throw', async () => {
  const me = await createIdentity('0x' + '0c'.repeat(32), 'ed25519');
  const twins = new MemoryTwinDirectory([twinOf(1, me)]);
  // A relay nobody listens on: the peer runs, with no connection.
  const peer = new RelayPeer({ identity: me, twinId: 1, relays: ['ws://127.0.0.1:1'], twins, backoff: { initialMs: 60_000 } });
  const rejects = (p: () => Promise<unknown>, code: string) => assert.rejects(p(), (err: Error & { code?: string }) => err.code === code);
  await rejects(() => peer.request(1, 'x'), 'ERR_NOT_STARTED');
  await peer.start();
  await rejects(() => peer.request(9, 'x'), 'ERR_UNKNOWN_TWIN');
  let bigint: Promise<unknown> | undefined;
  assert.doesNotThrow(() => (bigint = peer.request(1, 'x', { n: 1n })));
  await assert.rejects(bigint!, TypeError);
  await peer.close();
  await rejects(() => peer.request(1, 'x'), 'ERR_CLOSED');
});
