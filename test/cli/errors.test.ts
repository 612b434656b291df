import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainError } from '../../chain/client/errors.ts';
import { RelayClientError, RmbError, TimeoutError } from '../../relay-client/errors.ts';
import { CliError, explain, faucetUrl, formatError } from '../../bin/grid/errors.ts';
import { contractConflict } from '../../bin/grid/deployer.ts';

const ctx = { chainUrl: 'ws://127.0.0.1:9944', relayUrl: 'ws://127.0.0.1:8080', address: '5Grw' };

const cases: Array<{ name: string; err: unknown; code: string; message: RegExp; hint: RegExp; exit: number }> = [
  {
    name: 'InsufficientBalance gives the faucet command for this account', err: new ChainError('InsufficientBalance', 'fees'),
    code: 'ERR_INSUFFICIENT_BALANCE', message: /account 5Grw cannot pay the transaction fees/,
    hint: /curl -X POST http:\/\/127\.0\.0\.1:9944\/activation\/activate .*"substrateAccountID":"5Grw"/, exit: 1,
  },
  {
    name: 'missing terms and conditions', err: new ChainError('UserDidNotSignTermsAndConditions', 'x', { section: 'tfgridModule' }),
    code: 'ERR_TERMS_NOT_ACCEPTED', message: /not accepted the terms and conditions/, hint: /userAcceptTc/, exit: 1,
  },
  {
    name: 'a dropped chain connection', err: new ChainError('ERR_DISCONNECTED', 'connection lost'),
    code: 'ERR_CHAIN_UNREACHABLE', message: /cannot reach the chain at ws:\/\/127\.0\.0\.1:9944/, hint: /zos devnet.*zos up.*--chain/, exit: 1,
  },
  {
    name: 'a relay timeout', err: new TimeoutError('no response to zos.deployment.get from twin 2 after 30000 ms'),
    code: 'ERR_RELAY_TIMEOUT', message: /no response/, hint: /did not answer through the relay ws:\/\/127\.0\.0\.1:8080: is it running/, exit: 1,
  },
  {
    name: 'an unknown twin', err: new RelayClientError('ERR_UNKNOWN_TWIN', 'twin not found 9'),
    code: 'ERR_NODE_NOT_FOUND', message: /twin not found 9/, hint: /check --chain/, exit: 1,
  },
  {
    name: 'a relay connection failure', err: new RelayClientError('ERR_CONNECTION', 'refused'),
    code: 'ERR_RELAY_UNREACHABLE', message: /cannot reach the relay at ws:\/\/127\.0\.0\.1:8080/, hint: /check --relay/, exit: 1,
  },
  {
    name: 'a node rejection keeps the node message', err: new RmbError(1, 'twin id mismatch (deployment: 3, message: 4)'),
    code: 'ERR_REJECTED', message: /the node rejected the request: twin id mismatch/, hint: /^$/, exit: 1,
  },
  {
    name: 'a contract conflict names the contract', err: contractConflict(12, 1),
    code: 'ERR_CONTRACT_NOT_UNIQUE', message: /same deployment hash exists on node 1: contract 12/, hint: /zos deployments cancel 12/, exit: 1,
  },
];

for (const tc of cases) {
  test(`errors: ${tc.name}`, () => {
    const e = explain(tc.err, ctx);
    assert.ok(e instanceof CliError);
    assert.equal(e.code, tc.code);
    assert.match(e.message, tc.message);
    assert.match(e.hint ?? '', tc.hint);
    assert.equal(e.exitCode, tc.exit);
    assert.match(formatError('zos deploy', e), /^zos deploy: /);
  });
}

test('errors: the faucet sits next to the chain, over http(s)', () => {
  assert.equal(faucetUrl('ws://127.0.0.1:9944'), 'http://127.0.0.1:9944/activation/activate');
  assert.equal(faucetUrl('wss://chain.example/'), 'https://chain.example/activation/activate');
});
