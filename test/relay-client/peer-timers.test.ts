import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { createIdentity } from '../../relay-client/identity.ts';
import { parseJwt } from '../../rmb/jwt.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { MemoryTwinDirectory } from '../../rmb/twins.ts';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../rmb/envelope.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A relay stand-in that accepts every connection and never answers pings on its own; it counts ping envelopes. */
async function silentRelay(t: { after(fn: () => unknown): void }) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const conns: { ws: WebSocket; jwt: string; pings: Envelope[]; closed: boolean }[] = [];
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const c = { ws, jwt: (req.url ?? '').split('?')[1] ?? '', pings: [] as Envelope[], closed: false };
    ws.on('message', (d: Buffer) => {
      const env = decodeEnvelope(d);
      if (env.message?.kind === 'ping') c.pings.push(env);
    });
    ws.on('close', () => (c.closed = true));
    conns.push(c);
  });
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise((r) => wss.close(r));
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, conns };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await realSleep(10);
  assert.ok(cond(), what);
}

test('peer: a ping envelope every 20 s, reconnects after 40 s without an envelope (WebSocket pongs do not count) with a fresh JWT, and only once', async (t) => {
  const relay = await silentRelay(t);
  const clock = new FakeClock();
  const identity = await createIdentity('0x' + '11'.repeat(32));
  const peer = new RelayPeer({
    identity, twinId: 5, relays: [relay.url], twins: new MemoryTwinDirectory(), clock,
    backoff: { initialMs: 1_000, maxMs: 1_000 },
  });
  await peer.start();
  t.after(() => peer.close());
  await until(() => relay.conns.length === 1, 'first connection');
  await peer.connected();

  await clock.advance(20_000);
  await until(() => relay.conns[0]!.pings.length === 1, 'a ping envelope after 20 s');
  const ping = relay.conns[0]!.pings[0]!;
  // The official TS client's ping: unsigned, from our session to twin 0, expiring in 40 s.
  assert.deepEqual({ source: ping.source, destination: ping.destination, expiration: ping.expiration, signature: ping.signature?.length ?? 0 }, { source: { twin: 5 }, destination: { twin: 0 }, expiration: 40, signature: 0 });
  assert.equal(relay.conns[0]!.closed, false);
  // ws (and tungstenite) answer WebSocket pings by themselves, whether or not the relay still routes to us.
  relay.conns[0]!.ws.pong();
  await realSleep(20);

  await clock.advance(20_000); // 40 s without a single envelope from the relay
  await until(() => relay.conns[0]!.closed, 'connection without envelopes dropped at 40 s');
  await clock.advance(1_500); // backoff (1 s x jitter 0.5-1.5)
  await until(() => relay.conns.length === 2, 'redialled');
  const [first, second] = relay.conns.map((c) => parseJwt(c.jwt).claims);
  assert.ok(second!.iat >= first!.iat + 40, `fresh JWT (iat ${first!.iat} -> ${second!.iat})`);

  // The new connection answers pings with pong envelopes, as a relay does; the old connection's timers must not touch it.
  const live = relay.conns[1]!;
  live.ws.on('message', (d: Buffer) => {
    const env = decodeEnvelope(d);
    if (env.message?.kind === 'ping') live.ws.send(encodeEnvelope({ ...env, message: { kind: 'pong' }, source: env.destination, destination: env.source }));
  });
  for (let i = 0; i < 12; i++) {
    await clock.advance(10_000);
    await realSleep(20);
  }
  assert.equal(relay.conns.length, 2, 'no second reconnect');
  assert.equal(live.closed, false);
  assert.ok(live.pings.length >= 5, `kept pinging (${live.pings.length})`);
});

test('peer: close() is idempotent and fails pending requests with ERR_CLOSED', async (t) => {
  const relay = await silentRelay(t);
  const identity = await createIdentity('0x' + '12'.repeat(32));
  const twins = new MemoryTwinDirectory([{ id: 9, accountId: identity.accountId, relay: 'x', pk: null }]);
  const peer = new RelayPeer({ identity, twinId: 5, relays: [relay.url], twins });
  await peer.start();
  await peer.connected();
  const pending = peer.request(9, 'x', {}, { timeoutMs: 60_000 });
  await until(() => relay.conns.length === 1, 'connected');
  await Promise.all([peer.close(), peer.close()]);
  await assert.rejects(pending, { code: 'ERR_CLOSED' });
  await assert.rejects(peer.request(9, 'x', {}), { code: 'ERR_CLOSED' });
  await assert.rejects(peer.start(), { code: 'ERR_CLOSED' });
});
