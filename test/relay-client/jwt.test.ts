import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdentity } from '../../relay-client/identity.ts';
import { createJwt, JwtError, parseJwt, verifyJwt } from '../../rmb/jwt.ts';

const MNEMONIC_A = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const SEED_42 = '0x' + '42'.repeat(32);

test('jwt: §9 header and claims encode to the documented prefix', async () => {
  const id = await createIdentity(MNEMONIC_A, 'sr25519');
  const token = createJwt(id, { twin: 7, sid: 'abcdefghij', nowS: 1700000000, ttlS: 1000 });
  const [h, c, s] = token.split('.');
  assert.equal(h, 'eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9');
  assert.equal(c, 'eyJzdWIiOjcsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAxMDAwLCJzaWQiOiJhYmNkZWZnaGlqIn0');
  assert.equal(s!.length, 87, '65 bytes -> 87 base64url chars, no padding');
  assert.doesNotMatch(token, /[=+/]/);
  assert.equal(Buffer.from(s!, 'base64url')[0], 0x73);
});

const keyTypes = [
  { name: 'sr25519', prefix: 0x73 },
  { name: 'ed25519', prefix: 0x65 },
] as const;
for (const kt of keyTypes) {
  test(`jwt: ${kt.name} token verifies against its account id with prefix 0x${kt.prefix.toString(16)}`, async () => {
    const id = await createIdentity(SEED_42, kt.name);
    const token = createJwt(id, { twin: 42, nowS: 1000 });
    const parsed = parseJwt(token);
    assert.deepEqual(parsed.claims, { sub: 42, iat: 1000, exp: 1060 });
    assert.equal(parsed.signature[0], kt.prefix);
    verifyJwt(parsed, id.accountId, 1060);
  });
}

test('jwt: rejects a token after exp (now > exp), accepts at exp', async () => {
  const id = await createIdentity(SEED_42, 'ed25519');
  const parsed = parseJwt(createJwt(id, { twin: 1, nowS: 100, ttlS: 10 }));
  verifyJwt(parsed, id.accountId, 110);
  assert.throws(() => verifyJwt(parsed, id.accountId, 111), /token expired/);
});

test('jwt: rejects a token signed by another key', async () => {
  const id = await createIdentity(SEED_42, 'sr25519');
  const other = await createIdentity(MNEMONIC_A, 'sr25519');
  const parsed = parseJwt(createJwt(other, { twin: 42, nowS: 100 }));
  assert.throws(() => verifyJwt(parsed, id.accountId, 100), /invalid signature/);
});

test('jwt: rejects claims altered after signing', async () => {
  const id = await createIdentity(SEED_42, 'sr25519');
  const [h, , s] = createJwt(id, { twin: 42, nowS: 100 }).split('.');
  const forged = Buffer.from(JSON.stringify({ sub: 43, iat: 100, exp: 160 })).toString('base64url');
  assert.throws(() => verifyJwt(parseJwt(`${h}.${forged}.${s}`), id.accountId, 100), /invalid signature/);
});

const malformed = [
  { name: 'two parts', token: 'a.b' },
  { name: 'non-JSON header', token: 'zz.eyJzdWIiOjF9.AA' },
  { name: 'alg HS256', token: `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":1,"iat":1,"exp":2}').toString('base64url')}.AA` },
  { name: 'negative sub', token: `${Buffer.from('{"alg":"RS512"}').toString('base64url')}.${Buffer.from('{"sub":-1,"iat":1,"exp":2}').toString('base64url')}.AA` },
  { name: 'missing exp', token: `${Buffer.from('{"alg":"RS512"}').toString('base64url')}.${Buffer.from('{"sub":1,"iat":1}').toString('base64url')}.AA` },
];
for (const tc of malformed) {
  test(`jwt: parse rejects ${tc.name}`, () => {
    assert.throws(() => parseJwt(tc.token), JwtError);
  });
}

test('jwt: sid null is the None session', () => {
  const token = `${Buffer.from('{"alg":"RS512"}').toString('base64url')}.${Buffer.from('{"sub":1,"iat":1,"exp":2,"sid":null}').toString('base64url')}.AA`;
  assert.equal(parseJwt(token).claims.sid, undefined);
});
