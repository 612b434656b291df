import { test } from 'node:test';
import assert from 'node:assert/strict';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import WebSocket from 'ws';
import { Devnet } from '../../chain/devnet/index.ts';
import { TxPoolError } from '../../chain/devnet/executive/errors.ts';
import type { TxStatus } from '../../chain/devnet/executive/pool.ts';
import { makeExecutive, RawRpc, sr } from './helpers/devnet.ts';

/** Devnet hardening (issue 14 item 5): dev RPCs and faucet behind --dev, Origin check, pool bounds. */

await cryptoWaitReady();
const alice = sr.addFromUri('//Alice');
const bob = sr.addFromUri('//Bob');

async function started(t: { after(fn: () => unknown): void }, opts: ConstructorParameters<typeof Devnet>[0]) {
  const devnet = new Devnet({ port: 0, ...opts });
  const url = await devnet.start();
  t.after(() => devnet.close());
  return { url, http: url.replace('ws', 'http') };
}

const faucet = (http: string) =>
  fetch(`${http}/activation/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: bob.address }) });

test('devnet: without dev the dev_* RPCs and the faucet do not exist; with dev they do', async (t) => {
  const plain = await started(t, {});
  const rpc = await RawRpc.open(plain.url);
  t.after(() => rpc.close());
  assert.equal((await rpc.call('dev_setBalance', [bob.address, '1000'])).error?.code, -32601);
  assert.equal((await rpc.call('dev_newBlock', [{ count: 1 }])).error?.code, -32601);
  const refused = await faucet(plain.http);
  assert.equal(refused.status, 404);
  assert.match(JSON.stringify(await refused.json()), /--dev/);

  const dev = await started(t, { dev: true });
  const rpc2 = await RawRpc.open(dev.url);
  t.after(() => rpc2.close());
  assert.equal((await rpc2.call('dev_newBlock', [{ count: 1 }])).error, undefined);
  assert.equal((await faucet(dev.http)).status, 200);
});

function upgradeStatus(url: string, origin?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => undefined);
  });
}

test('devnet: a browser page from a foreign origin can neither open a WebSocket nor POST; localhost and listed origins can', async (t) => {
  const { url, http } = await started(t, { allowedOrigins: ['https://dashboard.test'] });
  assert.equal(await upgradeStatus(url), 101, 'no Origin: not a browser');
  assert.equal(await upgradeStatus(url, 'http://localhost:5173'), 101);
  assert.equal(await upgradeStatus(url, 'https://dashboard.test'), 101);
  assert.equal(await upgradeStatus(url, 'https://evil.example'), 403);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'system_health' });
  const post = (origin: string) => fetch(http, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body });
  assert.equal((await post('https://evil.example')).status, 403);
  assert.equal((await post('http://127.0.0.1:3000')).status, 200);
});

test('pool: one account holds at most 16 future-nonce transactions; future ones still waiting after 10 minutes are dropped', async () => {
  const { ex, tx, sign, clock } = await makeExecutive();
  const transfer = (nonce: number) => sign(alice, tx('Balances', 'transfer_keep_alive', u8aToHex(bob.publicKey), 1000n + BigInt(nonce)), { nonce });
  const statuses: TxStatus[][] = [];
  for (let n = 1; n <= 16; n++) {
    const s: TxStatus[] = [];
    statuses.push(s);
    assert.equal(ex.submit(transfer(n), (x) => s.push(x)).status, 'future');
  }
  // Before this bound an account could park up to the whole pool (8192) in future txs.
  assert.throws(() => ex.submit(transfer(17)), (e: unknown) => e instanceof TxPoolError && e.code === 1016);
  // Another account is not affected, and a tx that fills a gap is not future.
  assert.equal(ex.submit(sign(bob, tx('Balances', 'transfer_keep_alive', u8aToHex(alice.publicKey), 5n))).status, 'ready');
  clock.tick(10 * 60_000 + 1);
  ex.newBlocks(1);
  assert.ok(statuses.every((s) => s.at(-1) === 'dropped'), 'aged future txs are dropped with their watchers told');
  assert.equal(ex.pool.size, 0);
  assert.equal(ex.submit(transfer(17)).status, 'future', 'room again');
});
