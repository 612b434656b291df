import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';
import type { Connection } from '../../chain/client/connection.ts';
import { ChainError } from '../../chain/client/errors.ts';
import type { ChainSigner } from '../../chain/client/extrinsic.ts';
import type { Runtime } from '../../chain/client/runtime.ts';
import { Call } from '../../chain/client/scale.ts';
import { Submitter } from '../../chain/client/submit.ts';

/**
 * The submitter's own policy (per-account serialisation, fresh nonce per submission, abort and
 * timeout) against a scripted JSON-RPC connection; the real signing path runs in
 * client-integration.test.ts and client-extrinsic.test.ts.
 */

type StatusCb = (status: unknown) => void;
interface Pending {
  account: string;
  nonce: number;
  hex: string;
  cb: StatusCb;
}

/** A runtime with no signed extensions whose extrinsic is just the call bytes. */
const fakeRuntime = {
  signedExtensions: [],
  addressType: 0,
  signatureType: 0,
  eventsKey: '0x00',
  encode: () => new Uint8Array(0),
  encodeCall: (call: Call) => new TextEncoder().encode(`${call.section}.${call.method}#${Math.random()}`),
  decodeEvents: () => [],
} as unknown as Runtime;

function fakeChain(opts: { submitError?: Error } = {}) {
  const nonces = new Map<string, number>();
  const log: string[] = [];
  const pending: Pending[] = [];
  const block: string[] = [];
  /** Nonces handed out, in order: the next submission takes the oldest. */
  const handed: Array<{ account: string; nonce: number }> = [];
  const rpc = {
    request: async (method: string, params: unknown[]) => {
      if (method === 'system_accountNextIndex') {
        const account = params[0] as string;
        const n = nonces.get(account) ?? 0;
        handed.push({ account, nonce: n });
        log.push(`nonce ${account} ${n}`);
        return n;
      }
      if (method === 'chain_getFinalizedHead') return '0x' + '11'.repeat(32);
      if (method === 'chain_getHeader') return { number: '0x5' };
      if (method === 'chain_getBlock') return { block: { header: { number: '0x7' }, extrinsics: block } };
      if (method === 'state_getStorage') return null;
      throw new Error(`unexpected ${method}`);
    },
    subscribe: async (_method: string, params: unknown[], _unsub: string, cb: StatusCb) => {
      if (opts.submitError) throw opts.submitError;
      const { account, nonce } = handed.shift()!;
      const hex = params[0] as string;
      pending.push({ account, nonce, hex, cb });
      log.push(`send ${account} ${/\.(\w+)#/.exec(Buffer.from(hex.slice(2), 'hex').toString())?.[1]}`);
      return () => {};
    },
  };
  const conn = { rpc, runtime: fakeRuntime, chain: { genesisHash: '0x' + '00'.repeat(32), specVersion: 1, transactionVersion: 1 } } as unknown as Connection;
  /** Puts the oldest pending tx of `account` in a block. */
  const include = (account: string, as: 'inBlock' | 'finalized' = 'inBlock') => {
    const i = pending.findIndex((p) => p.account === account);
    const [p] = pending.splice(i, 1);
    nonces.set(account, p!.nonce + 1);
    block.push(p!.hex);
    p!.cb({ [as]: as === 'inBlock' ? '0xb10c' : '0xf1' });
  };
  return { conn, tx: (name: string) => new Call('test', name, []), include, pending, log };
}

const pair = (address: string): ChainSigner => ({ address, publicKey: new Uint8Array(32), type: 'ed25519', sign: () => new Uint8Array(64) });
const tick = () => new Promise((r) => setImmediate(r));

test('submit: one account at a time, each with the nonce after the previous inclusion', async () => {
  const f = fakeChain();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.conn, pair('A'), f.tx('one'));
  const b = s.submit(f.conn, pair('A'), f.tx('two'));
  await tick();
  assert.deepEqual(f.pending.map((p) => p.nonce), [0], 'second waits for the first');
  f.include('A');
  const ra = await a;
  assert.equal(ra.blockHash, '0xb10c');
  assert.equal(ra.blockNumber, 7);
  await tick();
  assert.deepEqual(f.pending.map((p) => p.nonce), [1]);
  f.include('A');
  await b;
  assert.deepEqual(f.log, ['nonce A 0', 'send A one', 'nonce A 1', 'send A two']);
});

test('submit: a Finalized status without a prior InBlock result also resolves', async () => {
  const f = fakeChain();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.conn, pair('A'), f.tx('a'));
  await tick();
  f.include('A', 'finalized');
  assert.equal((await a).blockHash, '0xf1');
});

test('submit: different accounts do not wait for each other', async () => {
  const f = fakeChain();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.conn, pair('A'), f.tx('a'));
  const b = s.submit(f.conn, pair('B'), f.tx('b'));
  await tick();
  assert.deepEqual(f.pending.map((p) => p.account).sort(), ['A', 'B']);
  f.include('B');
  await b;
  f.include('A');
  await a;
});

test('submit: an aborted waiter fails with the abort reason and does not block the queue', async () => {
  const f = fakeChain();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.conn, pair('A'), f.tx('a'));
  const ac = new AbortController();
  const b = s.submit(f.conn, pair('A'), f.tx('b'), ac.signal);
  const c = s.submit(f.conn, pair('A'), f.tx('c'));
  ac.abort(new ChainError('ERR_DISCONNECTED', 'connection lost'));
  await assert.rejects(b, (e: unknown) => e instanceof ChainError && e.code === 'ERR_DISCONNECTED' && e.retriable);
  await tick();
  f.include('A');
  await a;
  await tick();
  assert.deepEqual(f.pending.map((p) => p.nonce), [1], 'c runs next with a fresh nonce');
  f.include('A');
  await c;
});

test('submit: no inBlock within the timeout is a retriable ERR_TIMEOUT, and the lock is released', async () => {
  const f = fakeChain();
  const timers: Array<() => void> = [];
  const clock: Clock = {
    now: () => 0,
    sleep: async () => {},
    setTimeout: (fn) => {
      timers.push(fn);
      return { cancel: () => {} };
    },
  };
  const s = new Submitter({ logger: silentLogger(), clock, inBlockTimeoutMs: 1000 });
  const a = s.submit(f.conn, pair('A'), f.tx('a'));
  await tick();
  timers.shift()!();
  await assert.rejects(a, (e: unknown) => e instanceof ChainError && e.code === 'ERR_TIMEOUT' && e.retriable);
  const b = s.submit(f.conn, pair('A'), f.tx('b'));
  await tick();
  assert.equal(f.pending.length, 2);
  f.pending.shift();
  f.include('A');
  await b;
});

test('submit: a pool rejection (1010 fees) is InsufficientBalance', async () => {
  const f = fakeChain({ submitError: new Error('1010: Invalid Transaction: Inability to pay some fees , e.g. account balance too low') });
  const s = new Submitter({ logger: silentLogger() });
  await assert.rejects(s.submit(f.conn, pair('A'), new Call('tfgridModule', 'createTwin', [])), (e: unknown) => e instanceof ChainError && e.code === 'InsufficientBalance');
});
