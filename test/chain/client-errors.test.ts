import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ChainError, mapDispatchError, mapRpcError } from '../../chain/client/errors.ts';
import { Runtime } from '../../chain/client/runtime.ts';
import { fromHex } from '../../chain/client/scale.ts';
import { keyPairFromSecret, ss58Address } from '../../chain/client/keys.ts';
import { requireHost } from '../helpers/host.ts';
import { ALICE_HEX, ALICE_SS58, codecJson, referenceRegistry } from './client-fixtures.ts';
import { REFERENCE_PATH } from './helpers/reference-metadata.ts';

const reg = referenceRegistry();
/** Our runtime over the same spec-152 metadata; dispatch errors go in as polkadot-js JSON. */
const runtime = reg ? new Runtime(fromHex(JSON.parse(readFileSync(REFERENCE_PATH, 'utf8')).result)) : null;

const moduleErrors = [
  { name: 'SmartContractModule 13', index: 26, error: 13, code: 'ContractIsNotUnique', section: 'smartContractModule', hint: /exists/ },
  { name: 'TfgridModule 39', index: 25, error: 39, code: 'UserDidNotSignTermsAndConditions', section: 'tfgridModule', hint: /terms and conditions/ },
  { name: 'TfgridModule 28', index: 25, error: 28, code: 'TwinWithPubkeyExists', section: 'tfgridModule', hint: /update/ },
  { name: 'SmartContractModule 7', index: 26, error: 7, code: 'ContractNotExists', section: 'smartContractModule', hint: /gone/ },
] as const;
for (const tc of moduleErrors) {
  test(`errors: module error ${tc.name} maps to ${tc.code} by on-chain name`, (t) => {
    if (!requireHost(t, reg !== null, 'spec-152 reference metadata missing')) return;
    const de = codecJson('SpRuntimeDispatchError', { Module: { index: tc.index, error: [tc.error, 0, 0, 0] } });
    const err = mapDispatchError(runtime!, de, 'smartContractModule.createNodeContract');
    assert.ok(err instanceof ChainError);
    assert.equal(err.code, tc.code);
    assert.equal(err.name, tc.code);
    assert.equal(err.section, tc.section);
    assert.equal(err.retriable, false);
    assert.match(err.message, tc.hint);
    assert.match(err.message, /smartContractModule\.createNodeContract failed/);
  });
}

test('errors: non-module dispatch errors keep their kind', (t) => {
  if (!requireHost(t, reg !== null, 'spec-152 reference metadata missing')) return;
  const bad = mapDispatchError(runtime!, codecJson('SpRuntimeDispatchError', { BadOrigin: null }), 'x.y');
  assert.equal(bad.code, 'ERR_DISPATCH');
  assert.equal(bad.name, 'ChainError');
  assert.match(bad.message, /BadOrigin/);
  const token = mapDispatchError(runtime!, codecJson('SpRuntimeDispatchError', { Token: 'FundsUnavailable' }), 'x.y');
  assert.match(token.message, /Token\.FundsUnavailable/);
});

const rpcErrors = [
  {
    name: 'polkadot-js 1010 fees',
    message: '1010: Invalid Transaction: Inability to pay some fees , e.g. account balance too low',
    code: 'InsufficientBalance',
    retriable: false,
  },
  { name: '1010 outdated', message: '1010: Invalid Transaction: Transaction is outdated', code: 'ERR_INVALID_TX', retriable: true },
  { name: '1010 bad signature', message: '1010: Invalid Transaction: Transaction has a bad signature', code: 'ERR_INVALID_TX', retriable: false },
  { name: 'socket closed', message: 'disconnected from ws://127.0.0.1:9944: 1006:: Abnormal Closure', code: 'ERR_DISCONNECTED', retriable: true },
  { name: 'not connected', message: 'WebSocket is not connected', code: 'ERR_DISCONNECTED', retriable: true },
  { name: 'other', message: '-32601: Method not found', code: 'ERR_RPC', retriable: false },
] as const;
for (const tc of rpcErrors) {
  test(`errors: RPC error "${tc.name}" maps to ${tc.code}`, () => {
    const err = mapRpcError(new Error(tc.message), 'tfgridModule.createTwin');
    assert.equal(err.code, tc.code);
    assert.equal(err.retriable, tc.retriable);
    assert.match(err.message, /tfgridModule\.createTwin/);
    assert.ok(err.cause instanceof Error);
  });
}

test('errors: InsufficientBalance says what to do and carries the official name', () => {
  const err = mapRpcError(new Error('1010: Invalid Transaction: Inability to pay some fees , e.g. account balance too low'), 'c');
  assert.equal(err.name, 'InsufficientBalance');
  assert.match(err.message, /fund the account/);
});

test('errors: a ChainError passes through mapRpcError unchanged', () => {
  const orig = new ChainError('ERR_TIMEOUT', 'slow');
  assert.equal(mapRpcError(orig, 'c'), orig);
  assert.equal(orig.retriable, true);
});

const secrets = [
  { name: 'dev URI sr25519', secret: '//Alice', type: 'sr25519', address: ALICE_SS58 },
  {
    name: 'mnemonic sr25519',
    secret: 'bottom drive obey lake curtain smoke basket hold race lonely fit walk',
    type: 'sr25519',
    address: '5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV',
  },
  {
    name: 'hex seed ed25519',
    secret: '0xabf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115',
    type: 'ed25519',
    address: null,
  },
] as const;
for (const tc of secrets) {
  test(`keys: ${tc.name} gives an SS58-42 ${tc.type} pair`, async () => {
    const pair = await keyPairFromSecret(tc.secret, tc.type);
    assert.equal(pair.type, tc.type);
    assert.ok(pair.address.startsWith('5'));
    if (tc.address) assert.equal(pair.address, tc.address);
    assert.equal(ss58Address(pair.publicKey), pair.address);
  });
}

test('keys: a hex seed gives different ed25519 and sr25519 pairs; a hex account id its SS58 address', async () => {
  const a = await keyPairFromSecret(`0x${'07'.repeat(32)}`, 'ed25519');
  const c = await keyPairFromSecret(`0x${'07'.repeat(32)}`, 'sr25519');
  assert.notEqual(a.address, c.address);
  assert.equal(ss58Address(ALICE_HEX), ALICE_SS58);
});

test('keys: rejects a bad secret, a short seed and an unknown key type', async () => {
  await assert.rejects(keyPairFromSecret('not a mnemonic'), (e: unknown) => e instanceof ChainError && e.code === 'ERR_BAD_INPUT');
  await assert.rejects(keyPairFromSecret(`0x${'07'.repeat(16)}`), (e: unknown) => e instanceof ChainError && e.code === 'ERR_BAD_INPUT');
  await assert.rejects(keyPairFromSecret('//Alice', 'ecdsa' as never), /sr25519|ed25519/);
});
