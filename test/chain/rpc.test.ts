import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { Devnet, RUNTIME_VERSION } from '../../chain/devnet/index.ts';
import { u8aToHex } from '@polkadot/util';
import { callOf, RawRpc, signExtrinsic, sr } from './helpers/devnet.ts';

await cryptoWaitReady();
let devnet: Devnet;
let url: string;
let rpc: RawRpc;

before(async () => {
  devnet = new Devnet({ port: 0, dev: true });
  url = await devnet.start();
  rpc = await RawRpc.open(url);
});

after(async () => {
  rpc?.close();
  await devnet?.close();
});

const errorCases: Array<{ name: string; frame: string; code: number }> = [
  { name: 'malformed JSON', frame: '{"jsonrpc":"2.0","id":1,', code: -32700 },
  { name: 'not a request object', frame: '{"jsonrpc":"2.0","id":7}', code: -32600 },
  { name: 'wrong jsonrpc version', frame: '{"jsonrpc":"1.0","id":8,"method":"system_chain"}', code: -32600 },
  { name: 'empty batch', frame: '[]', code: -32600 },
  { name: 'unknown method', frame: '{"jsonrpc":"2.0","id":9,"method":"nope_nothing","params":[]}', code: -32601 },
  { name: 'params not an array', frame: '{"jsonrpc":"2.0","id":10,"method":"chain_getBlockHash","params":{"n":1}}', code: -32602 },
  { name: 'bad block number', frame: '{"jsonrpc":"2.0","id":11,"method":"chain_getBlockHash","params":["zz"]}', code: -32602 },
  { name: 'bad address', frame: '{"jsonrpc":"2.0","id":12,"method":"system_accountNextIndex","params":["not-an-address"]}', code: -32602 },
  { name: 'too many params', frame: '{"jsonrpc":"2.0","id":13,"method":"system_chain","params":[1]}', code: -32602 },
  { name: 'storage key not hex', frame: '{"jsonrpc":"2.0","id":14,"method":"state_getStorage","params":["xyz"]}', code: -32602 },
  { name: 'unknown block hash', frame: `{"jsonrpc":"2.0","id":15,"method":"state_getStorage","params":["0x00","0x${'ee'.repeat(32)}"]}`, code: 4003 },
  { name: 'undecodable extrinsic', frame: '{"jsonrpc":"2.0","id":16,"method":"author_submitExtrinsic","params":["0x0c8401"]}', code: 1001 },
];

for (const tc of errorCases) {
  test(`rpc: answers ${tc.name} with error ${tc.code}`, async () => {
    const before = rpc.frames.length;
    rpc.sendRaw(tc.frame);
    const reply = await rpc.waitFor((f) => rpc.frames.indexOf(f) >= before && f.error !== undefined);
    assert.equal(reply.error.code, tc.code, JSON.stringify(reply));
    assert.equal(reply.jsonrpc, '2.0');
    assert.equal((await rpc.call('system_chain')).result, 'Development', 'connection still serves');
  });
}

test('rpc: unsubscribing an unknown subscription id answers false', async () => {
  assert.equal((await rpc.call('state_unsubscribeStorage', ['nope'])).result, false);
  assert.equal((await rpc.call('chain_unsubscribeNewHeads', [42])).result, false);
});

test('rpc: an oversized frame closes that connection only', async () => {
  const big = await RawRpc.open(url);
  const closed = new Promise<number>((resolve) => big.ws.once('close', (code) => resolve(code)));
  big.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'author_submitExtrinsic', params: [`0x${'00'.repeat(9 * 1024 * 1024)}`] }));
  assert.equal(await closed, 1009);
  assert.equal((await rpc.call('system_chain')).result, 'Development');
});

test('rpc: rpc_methods lists every method including subscriptions and unsubscribes', async () => {
  const { result } = await rpc.call('rpc_methods');
  assert.equal(result.version, 1);
  for (const m of ['system_accountNextIndex', 'account_nextIndex', 'chain_getBlock', 'state_call', 'state_queryStorageAt', 'state_getKeysPaged',
    'state_subscribeStorage', 'state_unsubscribeStorage', 'author_submitAndWatchExtrinsic', 'author_unwatchExtrinsic', 'chain_subscribeFinalizedHeads',
    'dev_newBlock', 'dev_setBalance', 'dev_timeTravel', 'dev_setStorage', 'rpc_methods']) {
    assert.ok(result.methods.includes(m), m);
  }
});

test('rpc: connect-time methods return the substrate formats', async () => {
  assert.deepEqual((await rpc.call('state_getRuntimeVersion')).result, RUNTIME_VERSION);
  assert.deepEqual((await rpc.call('system_properties')).result, { ss58Format: 42, tokenDecimals: 7, tokenSymbol: 'TFT' });
  assert.equal((await rpc.call('system_chainType')).result, 'Development');
  assert.deepEqual((await rpc.call('system_health')).result, { peers: 0, isSyncing: false, shouldHavePeers: false });
  const genesis = (await rpc.call('chain_getBlockHash', [0])).result;
  assert.equal(genesis, devnet.chain.chain.genesis.hash);
  const header = (await rpc.call('chain_getHeader', [genesis])).result;
  assert.equal(header.number, '0x0');
  assert.deepEqual(header.digest, { logs: [] });
  assert.equal((await rpc.call('state_call', ['Metadata_metadata_versions', '0x'])).result, '0x040e000000');
  const at14 = (await rpc.call('state_call', ['Metadata_metadata_at_version', '0x0e000000'])).result as string;
  assert.ok(at14.startsWith('0x01'));
  assert.ok(at14.endsWith((await rpc.call('state_getMetadata')).result.slice(2)));
  assert.equal((await rpc.call('state_call', ['Metadata_metadata_at_version', '0x0f000000'])).result, '0x00');
  assert.equal((await rpc.call('chain_getFinalizedHead')).result, devnet.chain.chain.best.hash);
});

test('rpc: storage reads, hashes, sizes, paged keys and queryStorageAt', async () => {
  const key = devnet.runtimeInstance.storageKey('Balances', 'TotalIssuance');
  const { result: value } = await rpc.call('state_getStorage', [key]);
  assert.match(value, /^0x[0-9a-f]{32}$/);
  assert.equal((await rpc.call('state_getStorageSize', [key])).result, 16);
  assert.match((await rpc.call('state_getStorageHash', [key])).result, /^0x[0-9a-f]{64}$/);
  const { result: changes } = await rpc.call('state_queryStorageAt', [[key, '0x1234']]);
  assert.deepEqual(changes[0].changes, [[key, value], ['0x1234', null]]);
  const accountPrefix = '0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9';
  const page1 = (await rpc.call('state_getKeysPaged', [accountPrefix, 3])).result as string[];
  const page2 = (await rpc.call('state_getKeysPaged', [accountPrefix, 3, page1[2]])).result as string[];
  assert.equal(page1.length, 3);
  assert.ok(page2.length >= 3 && page2[0]! > page1[2]!);
});

test('rpc: subscription replies carry the id before any notification', async () => {
  const before = rpc.frames.length;
  const reply = await rpc.call('chain_subscribeNewHeads');
  const first = await rpc.waitFor((f) => f.method === 'chain_newHead' && f.params.subscription === reply.result);
  assert.ok(rpc.frames.indexOf(reply) < rpc.frames.indexOf(first), 'reply first');
  assert.ok(rpc.frames.indexOf(reply) >= before);
  await rpc.call('dev_newBlock', [{ count: 1 }]);
  const best = devnet.chain.chain.best;
  await rpc.waitFor((f) => f.method === 'chain_newHead' && f.params.result.number === best.header.number);
  assert.equal((await rpc.call('chain_unsubscribeNewHeads', [reply.result])).result, true);
  assert.equal((await rpc.call('chain_unsubscribeNewHeads', [reply.result])).result, false);
});

test('rpc: state_subscribeStorage sends current values, then changes per block', async () => {
  const bobKey = devnet.runtimeInstance.storageKey('System', 'Account', ['0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48']);
  const { result: sub } = await rpc.call('state_subscribeStorage', [[bobKey]]);
  const initial = await rpc.waitFor((f) => f.method === 'state_storage' && f.params.subscription === sub);
  assert.equal(initial.params.result.changes[0][0], bobKey);
  const oldValue = initial.params.result.changes[0][1];
  await rpc.call('dev_setBalance', ['5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty', '123456789']);
  const change = await rpc.waitFor((f) => f.method === 'state_storage' && f.params.subscription === sub && f !== initial);
  assert.notEqual(change.params.result.changes[0][1], oldValue);
  assert.equal(change.params.result.block, devnet.chain.chain.best.hash);
  assert.equal((await rpc.call('state_unsubscribeStorage', [sub])).result, true);
});

test('rpc: dev_timeTravel moves the chain time forward', async () => {
  const target = Date.now() + 86_400_000;
  const { result } = await rpc.call('dev_timeTravel', [target]);
  assert.ok(result >= target && result < target + 10_000);
  const { result: byResult } = await rpc.call('dev_timeTravel', [{ byMs: 60_000 }]);
  assert.ok(byResult >= result + 60_000);
});

test('rpc: dev_setStorage writes raw storage in a new block', async () => {
  const before = devnet.chain.chain.best.number;
  await rpc.call('dev_setStorage', [[['0xdeadbeef', '0x0102']]]);
  assert.equal(devnet.chain.chain.best.number, before + 1);
  assert.equal((await rpc.call('state_getStorage', ['0xdeadbeef'])).result, '0x0102');
  await rpc.call('dev_setStorage', [[['0xdeadbeef', null]]]);
  assert.equal((await rpc.call('state_getStorage', ['0xdeadbeef'])).result, null);
});

test('rpc: HTTP POST serves JSON-RPC, batches and the activation faucet', async () => {
  const http = url.replace('ws://', 'http://');
  const post = (path: string, body: unknown) =>
    fetch(`${http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const single = await (await post('/', { jsonrpc: '2.0', id: 1, method: 'system_chain', params: [] })).json();
  assert.deepEqual(single, { jsonrpc: '2.0', id: 1, result: 'Development' });
  const batch = (await (await post('/', [{ jsonrpc: '2.0', id: 1, method: 'system_name' }, { jsonrpc: '2.0', id: 2, method: 'nope' }])).json()) as any[];
  assert.equal(batch.length, 2);
  assert.equal(batch[1].error.code, -32601);
  assert.equal(((await (await post('/', '{oops')).json()) as any).error.code, -32700);
  const subOverHttp = (await (await post('/', { jsonrpc: '2.0', id: 3, method: 'chain_subscribeNewHeads' })).json()) as any;
  assert.equal(subOverHttp.error.code, -32601);

  const who = '5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV';
  const res = await post('/activation/activate', { substrateAccountID: who });
  assert.equal(res.status, 200);
  const { result: nonce } = await rpc.call('system_accountNextIndex', [who]);
  assert.equal(nonce, 0);
  const key = (await rpc.call('state_getStorage', [devnet.runtimeInstance.storageKey('System', 'Account', ['0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a'])])).result;
  assert.ok(key, 'faucet created the account');
  assert.equal((await post('/activation/activate', { substrateAccountID: 'bogus' })).status, 400);
  assert.equal((await post('/activation/activate', '{')).status, 400);
});

test('rpc: author_submitAndWatchExtrinsic replies with the id, then ready, inBlock, finalized', async () => {
  const runtime = devnet.runtimeInstance;
  const alice = sr.addFromUri('//Alice');
  const call = callOf(runtime, 'Balances', 'transfer_keep_alive', '0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48', 5000n);
  const hex = u8aToHex(signExtrinsic(runtime, devnet.chain, alice, call));
  const reply = await rpc.call('author_submitAndWatchExtrinsic', [hex]);
  const sub = reply.result;
  const fin = await rpc.waitFor((f) => f.params?.subscription === sub && typeof f.params.result === 'object' && 'finalized' in f.params.result);
  const updates = rpc.frames.filter((f) => f.params?.subscription === sub);
  assert.ok(rpc.frames.indexOf(reply) < rpc.frames.indexOf(updates[0]));
  assert.deepEqual(updates.map((f) => f.params.result), ['ready', { inBlock: fin.params.result.finalized }, { finalized: fin.params.result.finalized }]);
  const block = (await rpc.call('chain_getBlock', [fin.params.result.finalized])).result;
  assert.ok(block.block.extrinsics.includes(hex));
  assert.equal((await rpc.call('author_unwatchExtrinsic', [sub])).result, false, 'finished subscriptions are gone');
});

test('rpc: an invalid extrinsic is refused with 1010 and the substrate text', async () => {
  const runtime = devnet.runtimeInstance;
  const poor = sr.addFromUri('//RpcPoor');
  const hex = u8aToHex(signExtrinsic(runtime, devnet.chain, poor, callOf(runtime, 'System', 'remark', '0x01')));
  for (const method of ['author_submitExtrinsic', 'author_submitAndWatchExtrinsic']) {
    const reply = await rpc.call(method, [hex]);
    assert.deepEqual(reply.error, { code: 1010, message: 'Invalid Transaction', data: 'Inability to pay some fees (e.g. account balance too low)' });
  }
  assert.deepEqual((await rpc.call('author_pendingExtrinsics')).result, []);
});

test('rpc: dev_setBalance below the existential deposit for a new account is a params error, not a crash', async () => {
  const reply = await rpc.call('dev_setBalance', [sr.addFromUri('//NeverFunded').address, '1']);
  assert.equal(reply.error.code, -32602);
  assert.equal((await rpc.call('system_chain')).result, 'Development');
});
