import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { silentLogger } from '../../lib/log.ts';
import { challenge } from '../../relay-client/challenge.ts';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../rmb/envelope.ts';
import { createIdentity, type Identity } from '../../relay-client/identity.ts';
import { createJwt } from '../../rmb/jwt.ts';
import { RelayPeer, type RelayPeerOptions } from '../../relay-client/peer.ts';
import { signPrefixed, type KeyType } from '../../rmb/signature.ts';
import { MemoryTwinDirectory, type Twin } from '../../rmb/twins.ts';
import { RelayServer, type RelayServerOptions } from '../../relay/server.ts';

/** Test grid pieces: twins from real keys in a lookup table, relays and peers on loopback. */
export const DOMAIN = 'relay.test';

export interface TestTwin {
  id: number;
  identity: Identity;
  twin: Twin;
}

export async function makeTwin(id: number, keyType: KeyType = 'sr25519', relay: string | null = DOMAIN): Promise<TestTwin> {
  const seed = '0x' + id.toString(16).padStart(2, '0').repeat(32);
  const identity = await createIdentity(seed, keyType);
  return { id, identity, twin: { id, accountId: identity.accountId, relay, pk: identity.secpPublic } };
}

export function directory(...twins: TestTwin[]): MemoryTwinDirectory {
  return new MemoryTwinDirectory(twins.map((t) => t.twin));
}

export async function startRelay(
  t: TestContext,
  opts: Partial<RelayServerOptions> & Pick<RelayServerOptions, 'twins'>,
): Promise<RelayServer> {
  const relay = new RelayServer({ domains: [DOMAIN], log: silentLogger(), ...opts });
  await relay.start();
  t.after(() => relay.close());
  return relay;
}

export async function startPeer(
  t: TestContext,
  who: TestTwin,
  relays: string[],
  twins: MemoryTwinDirectory,
  extra: Partial<RelayPeerOptions> = {},
): Promise<RelayPeer> {
  const peer = new RelayPeer({
    identity: who.identity,
    twinId: who.id,
    relays,
    twins,
    backoff: { initialMs: 50, maxMs: 200 },
    ...extra,
  });
  await peer.start();
  t.after(() => peer.close());
  await peer.connected(AbortSignal.timeout(5_000));
  return peer;
}

/** Twins 1 and 2 (sr25519) in one directory, and a relay serving them. */
export async function twoTwins(t: TestContext, relayOpts: Partial<RelayServerOptions> = {}) {
  const a = await makeTwin(1);
  const b = await makeTwin(2);
  const twins = directory(a, b);
  const relay = await startRelay(t, { twins, ...relayOpts });
  return { a, b, twins, relay };
}

export const nowS = () => Math.floor(Date.now() / 1000);

/** A bare WebSocket client speaking raw envelopes, to poke the relay or a peer directly. */
export class RawClient {
  readonly received: Envelope[] = [];
  readonly frames: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      this.frames.push(data);
      try {
        this.received.push(decodeEnvelope(data));
      } catch {
        /* kept in frames */
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(t: TestContext, url: string, who: TestTwin, sid?: string): Promise<RawClient> {
    const jwt = createJwt(who.identity, { twin: who.id, sid, nowS: nowS() });
    const ws = new WebSocket(`${url}/?${jwt}`);
    // Listen before 'open': queued frames can arrive in the same packet as the 101 answer.
    const c = new RawClient(ws);
    t.after(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  send(e: Envelope | Uint8Array): void {
    this.ws.send(e instanceof Uint8Array ? e : encodeEnvelope(e), { binary: true });
  }

  /** Waits until `n` envelopes have arrived in total. */
  async waitFor(n: number, timeoutMs = 5_000): Promise<Envelope[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} envelopes, got ${this.received.length}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return this.received.slice(0, n);
  }
}

/** A signed request envelope from `from` to twin `to` with a plain JSON payload. */
export function signedRequest(from: TestTwin, to: number, overrides: Partial<Envelope> = {}, sid?: string): Envelope {
  const e: Envelope = {
    uid: crypto.randomUUID(),
    tags: '',
    timestamp: nowS(),
    expiration: 60,
    source: sid === undefined ? { twin: from.id } : { twin: from.id, connection: sid },
    destination: { twin: to },
    message: { kind: 'request', command: 'echo' },
    schema: 'application/json',
    payload: { kind: 'plain', data: new TextEncoder().encode('{"x":1}') },
    relays: [DOMAIN],
    ...overrides,
  };
  return { ...e, signature: signPrefixed(from.identity, challenge(e)) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The HTTP status and body the relay answers an upgrade with; on 101 the open socket, which the caller closes. */
export function upgrade(url: string): Promise<{ status: number; body: string; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => resolve({ status: 101, body: '', ws }));
    ws.on('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

/**
 * Sends a copy of `real` signed by `forger` (same id), then `real` twice: the forgery is refused,
 * the real request is still answered (a forgery must not use up its id: ids are recorded only once
 * the signature holds) and its replay is dropped.
 */
export async function assertForgeryKeepsId(ra: RawClient, peer: RelayPeer, forger: TestTwin, real: Envelope): Promise<void> {
  ra.send({ ...real, signature: signPrefixed(forger.identity, challenge(real)) });
  ra.send(real);
  ra.send(real);
  await ra.waitFor(2);
  await sleep(300);
  assert.deepEqual(ra.received.map((r) => r.message?.kind), ['error', 'response']);
  assert.ok(ra.received.every((r) => r.uid === real.uid));
  assert.equal(peer.stats.dropped.replay, 1);
}
