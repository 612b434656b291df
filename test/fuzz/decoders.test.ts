import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { decodeEnvelope, encodeEnvelope, EnvelopeDecodeError } from '../../rmb/envelope.ts';
import { JwtError, parseJwt } from '../../rmb/jwt.ts';
import { createDispatcher } from '../../chain/devnet/rpc/index.ts';
import { checkExtrinsic } from '../../chain/devnet/executive/check.ts';
import { ChainError } from '../../chain/client/errors.ts';
import { Runtime as ClientRuntime } from '../../chain/client/runtime.ts';
import { fromHex, toHex } from '../../chain/client/scale.ts';
import { TxPoolError } from '../../chain/devnet/executive/errors.ts';
import { challenge, parseDeployment, validateDeployment } from '../../node/model/deployment.ts';
import { ZosError } from '../../node/errors.ts';
import { decodeManifest } from '../../image/manifest.ts';
import { initChunkCodec, openChunk, sealChunk } from '../../image/chunk-codec.ts';
import { ImageError } from '../../image/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { makeExecutive, sr } from '../chain/helpers/devnet.ts';

/**
 * Property-based fuzzing (fast-check) of every decoder that takes outside bytes: each either
 * decodes or throws its own typed error, never anything else, never hangs. Seeded so a CI
 * failure repeats; FUZZ_RUNS raises the run count for longer local runs.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const params = { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 14) };

/** Runs `fn`; anything thrown must be an instance of `allowed`. */
function onlyThrows(allowed: new (...a: never[]) => Error, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof allowed)) throw new Error(`threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`, { cause: err });
  }
}

/** Random bytes, and valid bytes with a few random byte changes, cuts and insertions. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat({ max: valid.length })).map(([edits, cut]) => {
      const b = new Uint8Array(valid);
      for (const [i, v] of edits) b[i % b.length] = v;
      return b.subarray(0, Math.max(1, cut));
    }),
    fc.tuple(fc.nat({ max: valid.length }), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, ins]) => {
      const out = new Uint8Array(valid.length + ins.length);
      out.set(valid.subarray(0, at));
      out.set(ins, at);
      out.set(valid.subarray(at), at + ins.length);
      return out;
    }),
  );
}

const sampleEnvelope = encodeEnvelope({
  uid: 'u-1', tags: '', timestamp: 1_700_000_000, expiration: 60, source: { twin: 7, connection: 'abc' }, destination: { twin: 42 },
  message: { kind: 'request', command: 'zos.statistics.get' }, signature: new Uint8Array(65).fill(1), schema: 'application/json',
  payload: { kind: 'plain', data: new TextEncoder().encode('{"a":1}') }, relays: ['relay.test'],
});

test('fuzz: RMB envelope decoding throws only EnvelopeDecodeError, and what decodes re-encodes to the same envelope', () => {
  fc.assert(
    fc.property(mutated(sampleEnvelope), (bytes) => {
      let env;
      try {
        env = decodeEnvelope(bytes);
      } catch (err) {
        assert.ok(err instanceof EnvelopeDecodeError, String(err));
        return;
      }
      assert.deepEqual(decodeEnvelope(encodeEnvelope(env)), env);
    }),
    params,
  );
});

test('fuzz: JWT parsing throws only JwtError', () => {
  const part = fc.oneof(fc.string(), fc.json().map((j) => Buffer.from(j).toString('base64url')), fc.constant(Buffer.from('{"alg":"RS512"}').toString('base64url')));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.tuple(part, part, part).map((p) => p.join('.'))), (token) => onlyThrows(JwtError, () => parseJwt(token))),
    params,
  );
});

test('fuzz: the devnet JSON-RPC dispatcher answers every text with a JSON-RPC reply and never throws', async () => {
  await cryptoWaitReady();
  const { runtime, ex } = await makeExecutive();
  const d = createDispatcher({ runtime, executive: ex, nodeName: 'fuzz', nodeVersion: '0' }, silentLogger(), { dev: false });
  const methods = ['system_health', 'chain_getBlockHash', 'chain_getHeader', 'chain_getBlock', 'state_getStorage', 'state_getKeysPaged', 'state_call',
    'state_getRuntimeVersion', 'author_submitExtrinsic', 'system_accountNextIndex', 'payment_queryInfo', 'state_queryStorageAt', 'nope'];
  const request = fc.record({
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue()), id: fc.oneof(fc.nat(), fc.string(), fc.constant(null)),
    method: fc.oneof(fc.constantFrom(...methods), fc.string()), params: fc.oneof(fc.array(fc.jsonValue(), { maxLength: 4 }), fc.jsonValue()),
  }, { requiredKeys: [] });
  const text = fc.oneof(fc.string(), request.map((r) => JSON.stringify(r)), fc.array(request, { maxLength: 3 }).map((r) => JSON.stringify(r)));
  fc.assert(
    fc.property(text, (t) => {
      const { reply } = d.handleText(t, null);
      if (reply !== null) {
        const parsed = JSON.parse(reply) as { jsonrpc?: string } | Array<{ jsonrpc?: string }>;
        for (const r of Array.isArray(parsed) ? parsed : [parsed]) assert.equal(r.jsonrpc, '2.0');
      }
    }),
    params,
  );
});

test('fuzz: SCALE extrinsic checking throws only TxPoolError', async () => {
  await cryptoWaitReady();
  const { runtime, ex, tx, sign } = await makeExecutive();
  const alice = sr.addFromUri('//Alice');
  const valid = sign(alice, tx('Balances', 'transfer_keep_alive', u8aToHex(sr.addFromUri('//Bob').publicKey), 1000n));
  const view = { bestNumber: ex.chain.best.number, hashOf: (n: number) => ex.chain.hashOf(n), accountNonce: () => 0 } as never;
  fc.assert(fc.property(mutated(valid), (bytes) => onlyThrows(TxPoolError, () => checkExtrinsic(runtime, view, bytes))), { ...params, numRuns: Math.ceil(RUNS / 3) });
});

test('fuzz: the chain client decodes storage values and block events from a chain endpoint, or throws only ChainError', async () => {
  await cryptoWaitReady();
  const { runtime, ex, tx, sign } = await makeExecutive([[u8aToHex(sr.addFromUri('//Alice').publicKey), 10n ** 15n]]);
  const client = new ClientRuntime(runtime.metadataBytes);
  // A real block's System.Events (a transfer: fees, deposit, success), read as a client reads it.
  ex.submit(sign(sr.addFromUri('//Alice'), tx('Balances', 'transfer_keep_alive', u8aToHex(sr.addFromUri('//Bob').publicKey), 1000n)));
  ex.newBlocks(1);
  const d = createDispatcher({ runtime, executive: ex, nodeName: 'fuzz', nodeVersion: '0' }, silentLogger(), { dev: false });
  const events = (JSON.parse(d.handleText(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'state_getStorage', params: [client.eventsKey] }), null).reply!) as { result: string }).result;
  assert.ok(client.decodeEvents(events as `0x${string}`).length >= 2, 'the sample decodes');
  const items = [['smartContractModule', 'contracts'], ['tfgridModule', 'twins'], ['tfgridModule', 'nodes'], ['system', 'account']] as const;
  fc.assert(
    fc.property(mutated(fromHex(events)), fc.constantFrom(...items), (bytes, [section, name]) =>
      onlyThrows(ChainError, () => {
        client.decodeEvents(toHex(bytes));
        client.decodeStorage(section, name, toHex(bytes));
      }),
    ),
    params,
  );
});

test('fuzz: deployments from RMB parse, validate and hash, or fail with a ZosError', () => {
  const workload = fc.record({
    version: fc.oneof(fc.nat(3), fc.jsonValue()), name: fc.oneof(fc.constantFrom('disk', 'vol', 'bad name!', ''), fc.string()),
    type: fc.oneof(fc.constantFrom('zmount', 'volume', 'zdb', 'network', 'zmachine', 'ip', 'gateway-name-proxy', 'qsfs', 'zlogs'), fc.string()),
    data: fc.oneof(fc.record({ size: fc.oneof(fc.nat(), fc.jsonValue()) }, { requiredKeys: [] }), fc.jsonValue()),
    metadata: fc.string(), description: fc.string(),
  }, { requiredKeys: [] });
  const deployment = fc.record({
    version: fc.oneof(fc.nat(3), fc.jsonValue()), twin_id: fc.oneof(fc.nat(), fc.jsonValue()), contract_id: fc.nat(), metadata: fc.string(),
    description: fc.string(), expiration: fc.nat(), workloads: fc.oneof(fc.array(workload, { maxLength: 4 }), fc.jsonValue()),
    signature_requirement: fc.oneof(fc.record({ requests: fc.array(fc.record({ twin_id: fc.nat(), required: fc.boolean(), weight: fc.nat() }), { maxLength: 2 }), weight_required: fc.nat(), signatures: fc.constant([]), signature_style: fc.string() }), fc.jsonValue()),
  }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.oneof(deployment, fc.jsonValue()), (input) =>
      onlyThrows(ZosError, () => {
        const dl = parseDeployment(input);
        validateDeployment(dl);
        challenge(dl);
      }),
    ),
    params,
  );
});

test('fuzz: image manifests throw only ImageError; chunks open only to their exact content', async () => {
  await initChunkCodec();
  const manifest = new TextEncoder().encode(JSON.stringify({ version: 1, entries: [{ path: '/', type: 'dir', mode: 493 }] }));
  fc.assert(fc.property(mutated(manifest), (bytes) => onlyThrows(ImageError, () => decodeManifest(bytes))), params);
  const plain = new TextEncoder().encode('hello chunk '.repeat(50));
  for (const encrypt of [false, true]) {
    const sealed = sealChunk(plain, { encrypt });
    fc.assert(
      fc.property(mutated(sealed.blob), (blob) =>
        onlyThrows(ImageError, () => {
          const out = openChunk(blob, { id: sealed.id, size: plain.length, key: sealed.key });
          assert.deepEqual(out, plain);
        }),
      ),
      { ...params, numRuns: Math.ceil(RUNS / 3) },
    );
  }
});
