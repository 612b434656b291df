import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Clock } from '../../lib/clock.ts';
import { silentLogger } from '../../lib/log.ts';
import { ChainError } from '../../chain/client/errors.ts';
import { Submitter, type Extrinsic } from '../../chain/client/submit.ts';

/**
 * The submitter's own policy (per-account serialisation, fresh nonce per submission, abort and
 * timeout) against a scripted API; the real signing path runs in client-integration.test.ts.
 */

type StatusCb = (r: unknown) => void;
interface Pending {
  account: string;
  nonce: number;
  cb: StatusCb;
}

function fakeApi() {
  const nonces = new Map<string, number>();
  const log: string[] = [];
  const api = {
    rpc: {
      system: {
        accountNextIndex: async (address: string) => {
          const n = nonces.get(address) ?? 0;
          log.push(`nonce ${address} ${n}`);
          return { toNumber: () => n, valueOf: () => n };
        },
      },
    },
  } as unknown as ApiPromise;
  const pending: Pending[] = [];
  const tx = (name: string): Extrinsic =>
    ({
      method: { section: 'test', method: name },
      signAndSend: async (pair: KeyringPair, opts: { nonce: { toNumber(): number } }, cb: StatusCb) => {
        pending.push({ account: pair.address, nonce: opts.nonce.toNumber(), cb });
        log.push(`send ${pair.address} ${name}`);
        return () => {};
      },
    }) as unknown as Extrinsic;
  /** Puts the oldest pending tx of `account` in a block. */
  const include = (account: string, as: 'InBlock' | 'Finalized' = 'InBlock') => {
    const i = pending.findIndex((p) => p.account === account);
    const [p] = pending.splice(i, 1);
    nonces.set(account, p!.nonce + 1);
    p!.cb({
      status: {
        isInBlock: as === 'InBlock',
        isFinalized: as === 'Finalized',
        asInBlock: { toHex: () => '0xb10c' },
        asFinalized: { toHex: () => '0xf1' },
        type: as,
      },
      dispatchError: undefined,
      txHash: { toHex: () => `0x${p!.nonce}` },
      blockNumber: { toNumber: () => 7 },
      events: [],
    });
  };
  return { api, tx, include, pending, log };
}

const pair = (address: string) => ({ address }) as KeyringPair;
const tick = () => new Promise((r) => setImmediate(r));

test('submit: one account at a time, each with the nonce after the previous inclusion', async () => {
  const f = fakeApi();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.api, pair('A'), f.tx('one'));
  const b = s.submit(f.api, pair('A'), f.tx('two'));
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
  const f = fakeApi();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.api, pair('A'), f.tx('a'));
  await tick();
  f.include('A', 'Finalized');
  assert.equal((await a).blockHash, '0xf1');
});

test('submit: different accounts do not wait for each other', async () => {
  const f = fakeApi();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.api, pair('A'), f.tx('a'));
  const b = s.submit(f.api, pair('B'), f.tx('b'));
  await tick();
  assert.deepEqual(f.pending.map((p) => p.account).sort(), ['A', 'B']);
  f.include('B');
  await b;
  f.include('A');
  await a;
});

test('submit: an aborted waiter fails with the abort reason and does not block the queue', async () => {
  const f = fakeApi();
  const s = new Submitter({ logger: silentLogger() });
  const a = s.submit(f.api, pair('A'), f.tx('a'));
  const ac = new AbortController();
  const b = s.submit(f.api, pair('A'), f.tx('b'), ac.signal);
  const c = s.submit(f.api, pair('A'), f.tx('c'));
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
  const f = fakeApi();
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
  const a = s.submit(f.api, pair('A'), f.tx('a'));
  await tick();
  timers.shift()!();
  await assert.rejects(a, (e: unknown) => e instanceof ChainError && e.code === 'ERR_TIMEOUT' && e.retriable);
  const b = s.submit(f.api, pair('A'), f.tx('b'));
  await tick();
  assert.equal(f.pending.length, 2);
  f.pending.shift();
  f.include('A');
  await b;
});

test('submit: a pool rejection (1010 fees) is InsufficientBalance', async () => {
  const f = fakeApi();
  const s = new Submitter({ logger: silentLogger() });
  const tx = {
    method: { section: 'tfgridModule', method: 'createTwin' },
    signAndSend: async () => {
      throw new Error('1010: Invalid Transaction: Inability to pay some fees , e.g. account balance too low');
    },
  } as unknown as Extrinsic;
  await assert.rejects(s.submit(f.api, pair('A'), tx), (e: unknown) => e instanceof ChainError && e.code === 'InsufficientBalance');
});
