import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backoff } from '../../lib/backoff.ts';
import { silentLogger } from '../../lib/log.ts';
import { connectChain } from '../../chain/client/connection.ts';
import { ChainError } from '../../chain/client/errors.ts';
import type { BlockEvents } from '../../chain/client/events.ts';
import { keyPairFromSecret } from '../../chain/client/keys.ts';
import { loadDevnet, type DevnetModule } from './client-fixtures.ts';

/** Connection policy: lifecycle and errors without a chain, failover and reconnect against devnets. */

const isClosed = (e: unknown) => e instanceof ChainError && e.code === 'ERR_CLOSED';

test('connection: rejects an empty URL list and non-WebSocket URLs', () => {
  for (const urls of [[], ['http://127.0.0.1:9944'], ['127.0.0.1:9944']]) {
    assert.throws(() => connectChain({ urls, logger: silentLogger() }), (e: unknown) => e instanceof ChainError && e.code === 'ERR_BAD_INPUT');
  }
});

test('connection: calls before start() fail with ERR_NOT_STARTED', async () => {
  const c = connectChain({ urls: ['ws://127.0.0.1:1'], logger: silentLogger() });
  await assert.rejects(c.query.twin(1), (e: unknown) => e instanceof ChainError && e.code === 'ERR_NOT_STARTED');
  await c.close();
});

test('connection: close() during the handshake (socket open, runtime not yet read) ends it at once', async (t) => {
  const { WebSocketServer } = await import('ws');
  // An endpoint that accepts the socket and never answers: the client waits in its handshake.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const asked = new Promise<void>((r) => server.on('connection', (ws) => ws.once('message', () => r())));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const c = connectChain({ urls: [`ws://127.0.0.1:${(server.address() as { port: number }).port}`], logger: silentLogger(), metadataCacheDir: null });
  const started = c.start().catch((e: unknown) => e);
  await asked;
  const t0 = Date.now();
  await c.close();
  assert.ok(Date.now() - t0 < 2_000, `close() took ${Date.now() - t0} ms`);
  assert.ok(isClosed(await started), 'start() ends with ERR_CLOSED');
});

test('connection: with no endpoint up, calls fail retriable after callWaitMs; close() ends start() and is idempotent', async () => {
  const c = connectChain({ urls: ['ws://127.0.0.1:1', 'ws://127.0.0.1:2'], logger: silentLogger(), callWaitMs: 200, backoff: new Backoff({ initialMs: 20, maxMs: 50 }) });
  const started = c.start();
  const call = await c.query.twin(1).catch((e: unknown) => e);
  assert.ok(call instanceof ChainError && call.code === 'ERR_DISCONNECTED' && call.retriable, String(call));
  assert.equal(c.url, null);
  await Promise.all([c.close(), c.close()]);
  await assert.rejects(started, isClosed);
  await assert.rejects(c.query.twin(1), isClosed);
  await assert.rejects(c.start(), isClosed);
});

async function devnetOr(_t: TestContext): Promise<DevnetModule | null> {
  return loadDevnet();
}

test('client: failover skips a dead endpoint, and a call whose connection drops fails retriable', async (t) => {
  const mod = await devnetOr(t);
  if (!mod) return;
  const second = new mod.Devnet({ port: 0 });
  const secondUrl = await second.start();
  const fo = connectChain({ urls: ['ws://127.0.0.1:1', secondUrl], logger: silentLogger(), callWaitMs: 1000 });
  try {
    const started = Date.now();
    await fo.start();
    assert.equal(fo.url, secondUrl);
    assert.ok(Date.now() - started < 10_000);
    assert.equal(typeof (await fo.query.finalizedBlockNumber()), 'number');
    const inFlight = fo.run(async (conn) => {
      await second.close();
      await new Promise((r) => setTimeout(r, 50));
      return conn.rpc.request('system_chain');
    });
    await assert.rejects(inFlight, (e: unknown) => e instanceof ChainError && e.code === 'ERR_DISCONNECTED' && e.retriable);
    const later = await fo.query.twin(1).catch((e: unknown) => e);
    assert.ok(later instanceof ChainError && later.retriable, String(later));
  } finally {
    await fo.close();
    await fo.close();
    await second.close();
  }
});

test('client: reconnects after a devnet restart and the stream continues without loss or duplicates', { timeout: 120_000 }, async (t) => {
  const mod = await devnetOr(t);
  if (!mod) return;
  const dataDir = mkdtempSync(join(tmpdir(), 'zos-chain-client-'));
  let chain = new mod.Devnet({ port: 0, dataDir });
  const chainUrl = await chain.start();
  const port = Number(new URL(chainUrl).port);
  const rc = connectChain({ urls: [chainUrl], logger: silentLogger(), backoff: new Backoff({ initialMs: 100, maxMs: 400 }) });
  let connects = 0;
  rc.on('connected', () => connects++);
  try {
    await rc.start();
    const dave = rc.as(await keyPairFromSecret('//Dave'));
    await dave.ensureTermsAccepted();
    await dave.ensureTwin({ relay: ['r0.example.com'], pk: null });
    const stream = rc.events({ after: await rc.query.finalizedBlockNumber() });
    const seen: BlockEvents[] = [];
    const relays = () => seen.flatMap((b) => b.events).flatMap((e) => (e.kind === 'TwinUpdated' ? [e.twin.relay] : []));
    const consume = (async () => {
      for await (const b of stream) {
        seen.push(b);
        if (relays().includes('r4.example.com')) return;
      }
    })();
    await dave.ensureTwin({ relay: ['r1.example.com'], pk: null });
    await dave.ensureTwin({ relay: ['r2.example.com'], pk: null });
    await chain.close();
    chain = new mod.Devnet({ port, dataDir });
    await chain.start();
    // Calls fail fast and typed while the client is between connections; then they work again.
    for (let i = 0; ; i++) {
      try {
        await dave.ensureTwin({ relay: ['r3.example.com'], pk: null });
        break;
      } catch (err) {
        assert.ok(err instanceof ChainError && err.retriable, String(err));
        assert.ok(i < 50, 'client did not reconnect');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await dave.ensureTwin({ relay: ['r4.example.com'], pk: null });
    await consume;
    assert.deepEqual(relays(), ['r1.example.com', 'r2.example.com', 'r3.example.com', 'r4.example.com']);
    assert.equal(connects, 2, 'one reconnect');
    const numbers = seen.map((b) => b.blockNumber);
    assert.deepEqual(numbers, numbers.map((_, i) => numbers[0]! + i), 'every block once, in order');
    await stream.close();
  } finally {
    await rc.close();
    await chain.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('client: when the live endpoint goes away it fails over to the next URL', { timeout: 60_000 }, async (t) => {
  const mod = await devnetOr(t);
  if (!mod) return;
  const a = new mod.Devnet({ port: 0 });
  const b = new mod.Devnet({ port: 0 });
  const [urlA, urlB] = await Promise.all([a.start(), b.start()]);
  const c = connectChain({ urls: [urlA, urlB], logger: silentLogger(), backoff: new Backoff({ initialMs: 50, maxMs: 200 }) });
  const seen: string[] = [];
  c.on('connected', (u) => seen.push(`+${u}`));
  c.on('disconnected', (u) => seen.push(`-${u}`));
  try {
    await c.start();
    assert.equal(c.url, urlA);
    await a.close();
    const deadline = Date.now() + 20_000;
    while (c.url !== urlB && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.url, urlB);
    assert.deepEqual(seen, [`+${urlA}`, `-${urlA}`, `+${urlB}`]);
    assert.equal(typeof (await c.query.finalizedBlockNumber()), 'number');
  } finally {
    await c.close();
    await Promise.all([a.close(), b.close()]);
  }
});
