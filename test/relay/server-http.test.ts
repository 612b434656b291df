import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEnvelope } from '../../rmb/envelope.ts';
import { createJwt } from '../../rmb/jwt.ts';
import { makeTwin, nowS, twoTwins, upgrade } from './fixture.ts';

/** The HTTP status and body the relay answers an upgrade with (an opened socket is closed at once). */
async function upgradeStatus(url: string): Promise<{ status: number; body: string }> {
  const { status, body, ws } = await upgrade(url);
  ws?.terminate();
  return { status, body };
}

test('relay auth: answers each bad JWT with the documented HTTP error', async (t) => {
  const { a, b, relay } = await twoTwins(t);
  const stranger = await makeTwin(99);
  const expired = createJwt(a.identity, { twin: 1, nowS: nowS() - 120, ttlS: 60 });
  const forged = createJwt(b.identity, { twin: 1, nowS: nowS() });
  const future = createJwt(a.identity, { twin: 1, nowS: nowS() + 600 });
  const forever = createJwt(a.identity, { twin: 1, nowS: nowS(), ttlS: 10 * 365 * 86_400 });
  const cases = [
    { name: 'no query', url: `${relay.url}/`, status: 400, body: 'missing jwt' },
    { name: 'garbage', url: `${relay.url}/?not-a-jwt`, status: 401, body: 'invalid jwt: expected 3 parts' },
    { name: 'expired', url: `${relay.url}/?${expired}`, status: 401, body: 'invalid jwt: token expired' },
    { name: 'issued in the future', url: `${relay.url}/?${future}`, status: 401, body: 'invalid jwt: token issued in the future' },
    { name: 'valid for ten years', url: `${relay.url}/?${forever}`, status: 401, body: 'invalid jwt: token lifetime over 3600 s' },
    { name: 'signed by another twin', url: `${relay.url}/?${forged}`, status: 401, body: 'invalid jwt: invalid signature' },
    { name: 'unknown twin', url: `${relay.url}/?${createJwt(stranger.identity, { twin: 99, nowS: nowS() })}`, status: 401, body: 'twin not found 99' },
    { name: 'valid, any path', url: `${relay.url}/some/path?${createJwt(a.identity, { twin: 1, nowS: nowS() })}`, status: 101, body: '' },
  ];
  for (const tc of cases) {
    assert.deepEqual(await upgradeStatus(tc.url), { status: tc.status, body: tc.body }, tc.name);
  }
  const metrics = await (await fetch(`${relay.url.replace('ws', 'http')}/metrics`)).text();
  assert.match(metrics, /rmb_relay_connections_total\{result="invalid_jwt"\} 5/);
  assert.match(metrics, /rmb_relay_connections_total\{result="unknown_twin"\} 1/);
  assert.match(metrics, /rmb_relay_connections_total\{result="ok"\} 1/);
});

test('relay federation ingest: 400 on garbage, 404 for fail-fast offline, 413 when too large, 202 queued', async (t) => {
  const { relay } = await twoTwins(t, { maxMessageSize: 1024 });
  const http = relay.url.replace('ws', 'http');
  const post = async (body: Uint8Array) => {
    const res = await fetch(`${http}/`, { method: 'POST', body: new Uint8Array(body) as Uint8Array<ArrayBuffer> });
    return { status: res.status, body: await res.text() };
  };
  const env = { uid: 'u', timestamp: nowS(), expiration: 60, source: { twin: 1 }, destination: { twin: 2 }, message: { kind: 'request' as const, command: 'c' }, relays: [] };
  assert.equal((await post(new Uint8Array([0x0a, 0x05, 1]))).status, 400);
  assert.deepEqual(await post(encodeEnvelope({ ...env, tags: 'x, fail-fast' })), { status: 404, body: 'destination offline' });
  assert.equal((await post(new Uint8Array(2048))).status, 413);
  assert.deepEqual(await post(encodeEnvelope(env)), { status: 202, body: '' });
  const res = await fetch(`${http}/nope`);
  assert.equal(res.status, 404);
});
