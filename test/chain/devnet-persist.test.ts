import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { Devnet } from '../../chain/devnet/index.ts';
import { callOf, RawRpc, signExtrinsic, sr } from './helpers/devnet.ts';

await cryptoWaitReady();
const alice = sr.addFromUri('//Alice');
const dave = sr.addFromUri('//Dave');
const ZOS = fileURLToPath(new URL('../../bin/zos', import.meta.url));

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-persist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('devnet: a restart with the same data dir keeps blocks, balances and the genesis hash', async (t) => {
  const dataDir = tempDir(t);
  const first = new Devnet({ port: 0, dev: true, dataDir });
  await first.start();
  const runtime = first.runtimeInstance;
  const daveKey = runtime.storageKey('System', 'Account', [u8aToHex(dave.publicKey)]);
  const done = new Promise<string>((resolve) =>
    first.chain.submit(signExtrinsic(runtime, first.chain, alice, callOf(runtime, 'Balances', 'transfer_keep_alive', u8aToHex(dave.publicKey), 777_000n)), (s) => {
      if (typeof s === 'object' && 'inBlock' in s) resolve(s.inBlock);
    }),
  );
  await done;
  const genesis = first.chain.chain.genesis.hash;
  const best = first.chain.chain.best;
  const daveAccount = u8aToHex(runtime.state.get(daveKey));
  await first.close();
  await first.close();

  const second = new Devnet({ port: 0, dev: true, dataDir });
  const url = await second.start();
  t.after(() => second.close());
  const rpc = await RawRpc.open(url);
  t.after(() => rpc.close());
  assert.equal((await rpc.call('chain_getBlockHash', [0])).result, genesis);
  assert.equal((await rpc.call('chain_getHeader')).result.number, best.header.number);
  assert.equal((await rpc.call('state_getStorage', [daveKey])).result, daveAccount);
  assert.equal((await rpc.call('system_accountNextIndex', [alice.address])).result, 1);
  const blockAtBest = (await rpc.call('chain_getBlock', [best.hash])).result;
  assert.deepEqual(blockAtBest.block.extrinsics, best.extrinsics);

  // The chain continues from the stored best block.
  await rpc.call('dev_newBlock', [{ count: 1 }]);
  const next = (await rpc.call('chain_getHeader')).result;
  assert.equal(next.parentHash, best.hash);
  assert.equal(parseInt(next.number, 16), best.number + 1);
});

/** Spawns `zos devnet` and resolves with the ws URL from its ready line. */
async function spawnDevnet(dataDir: string): Promise<{ proc: ResultPromise; url: string }> {
  const proc = execa(ZOS, ['devnet', '--dev', '--port', '0', '--data-dir', dataDir], { reject: false, env: { ZOS_LOG_LEVEL: 'warn' } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^ready (ws:\/\/\S+)\n/m.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.then((r) => reject(new Error(`zos devnet exited early (${r.exitCode}): ${r.stderr}`)), reject);
  });
  return { proc, url };
}

test('devnet: the zos devnet CLI prints one ready line, closes on signals and restarts from its data dir', { timeout: 180_000 }, async (t) => {
  const dataDir = tempDir(t);
  const first = await spawnDevnet(dataDir);
  t.after(() => void first.proc.kill('SIGKILL'));
  let rpc = await RawRpc.open(first.url);
  const genesis = (await rpc.call('chain_getBlockHash', [0])).result;
  assert.equal((await rpc.call('dev_setBalance', [dave.address, '4242424242'])).error, undefined);
  // System.Account: twox128("System") ++ twox128("Account") ++ blake2_128(id) ++ id.
  const daveKey = `0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9${blake2AsHex(dave.publicKey, 128).slice(2)}${u8aToHex(dave.publicKey).slice(2)}`;
  const stored = (await rpc.call('state_getStorage', [daveKey])).result;
  assert.ok(stored, 'dave account written');
  rpc.close();
  first.proc.kill('SIGTERM');
  const exit = await first.proc;
  assert.equal(exit.exitCode, 0, String(exit.stderr));
  assert.equal(exit.stdout, `ready ${first.url}`);

  const second = await spawnDevnet(dataDir);
  t.after(() => void second.proc.kill('SIGKILL'));
  rpc = await RawRpc.open(second.url);
  assert.equal((await rpc.call('chain_getBlockHash', [0])).result, genesis);
  assert.equal((await rpc.call('state_getStorage', [daveKey])).result, stored);
  rpc.close();
  second.proc.kill('SIGINT');
  assert.equal((await second.proc).exitCode, 0);
});

test('chain client events on a devnet restored from disk: the discarded history is reported once as missed, not retried', async (t) => {
  const { connectChain } = await import('../../chain/client/index.ts');
  const { silentLogger } = await import('../../lib/log.ts');
  const dataDir = tempDir(t);
  const first = new Devnet({ port: 0, dev: true, dataDir, finalityDelayMs: 0 });
  const rpc1 = await RawRpc.open(await first.start());
  await rpc1.call('dev_newBlock', [{ count: 4 }]);
  rpc1.close();
  await first.close();

  const second = new Devnet({ port: 0, dev: true, dataDir, finalityDelayMs: 0 });
  const url = await second.start();
  t.after(() => second.close());
  const client = connectChain({ urls: [url], logger: silentLogger() });
  await client.start();
  t.after(() => client.close());
  const head = await client.query.finalizedBlockNumber();
  assert.ok(head >= 4);
  const stream = client.events({ after: 1 });
  const timer = setTimeout(() => void stream.close(), 10_000);
  let got;
  for await (const b of stream) {
    got = b;
    break;
  }
  clearTimeout(timer);
  assert.deepEqual([got?.blockNumber, got?.missed], [head, { from: 2, to: head - 1 }]);
});
