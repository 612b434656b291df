import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { globalAgent } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AcmeCertificates, renewalDue, type GatewayCertificates } from '../../node/host/gateway/index.ts';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { certificateOf } from '../../node/host/gateway/certs.ts';
import { waitFor } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { waitOutput } from '../helpers/lab.ts';
import { selfSignedCert } from '../helpers/tls.ts';

const DAY = 86_400_000;
const at = (iso: string) => new Date(iso);

test('acme renewal: a third of the lifetime or 30 days before expiry, whichever is less', () => {
  // Let's Encrypt's 90 days: renewed in the last 30.
  const le = [at('2026-01-01T00:00:00Z'), at('2026-04-01T00:00:00Z')] as const;
  assert.equal(renewalDue(...le, le[1].getTime() - 31 * DAY), false);
  assert.equal(renewalDue(...le, le[1].getTime() - 29 * DAY), true);
  // pebble's 5 years: 30 days too; a 6-hour certificate: its last 2 hours.
  const short = [at('2026-01-01T00:00:00Z'), at('2026-01-01T06:00:00Z')] as const;
  assert.equal(renewalDue(...short, at('2026-01-01T03:59:00Z').getTime()), false);
  assert.equal(renewalDue(...short, at('2026-01-01T04:01:00Z').getTime()), true);
  assert.equal(renewalDue(...short, at('2026-01-01T07:00:00Z').getTime()), true, 'expired');
});

/**
 * The client against a proxy stand-in and a CA that cannot be reached (a closed loopback port):
 * which names are due (terminated, no current certificate, not backing off, with the clock
 * moved), the failure logged in traefik's words, nothing served or stored, retries doubling.
 */
test('acme client: due names, failure logged and retried with a doubling backoff, nothing stored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-acme-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: Array<{ msg: string; retryInMs?: number }> = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  let now = at('2026-03-01T00:00:00Z').getTime();
  const calls: string[] = [];
  const proxy: GatewayCertificates = {
    terminatedNames: () => ['fresh.example', 'expiring.example', 'new.example'],
    certificates: () => [
      { fqdn: 'fresh.example', notBefore: at('2026-02-20T00:00:00Z'), notAfter: at('2026-05-21T00:00:00Z') },
      { fqdn: 'expiring.example', notBefore: at('2025-12-10T00:00:00Z'), notAfter: at('2026-03-10T00:00:00Z') },
    ],
    setCertificate: async (f) => void calls.push(`cert ${f}`),
    removeCertificate: async (f) => void calls.push(`rm ${f}`),
    setChallenge: async (tok) => void calls.push(`challenge ${tok}`),
    removeChallenge: async (tok) => void calls.push(`unchallenge ${tok}`),
    onRoutesChanged: () => undefined,
  };
  const acme = new AcmeCertificates({ directoryUrl: 'https://127.0.0.1:1/dir', email: 'x@example.org', dataDir: join(dir, 'acme'), proxy, log, retryMs: 60_000, retryMaxMs: 200_000, now: () => now });
  t.after(() => acme.close());
  assert.deepEqual(acme.due(), ['expiring.example', 'new.example']);

  acme.start();
  await waitFor(async () => lines.filter((l) => l.msg.startsWith('Unable to obtain')).length === 2, 'both names failed once', 30_000, 50);
  const failed = lines.filter((l) => l.msg.startsWith('Unable to obtain'));
  assert.match(failed[0]!.msg, /^Unable to obtain ACME certificate for domains "expiring\.example": .*ECONNREFUSED/);
  assert.deepEqual(failed.map((l) => l.retryInMs), [60_000, 60_000]);
  assert.deepEqual(calls, [], 'no challenge set and no certificate stored');
  assert.deepEqual(acme.due(), [], 'both wait for their retry');

  now += 61_000;
  assert.deepEqual(acme.due(), ['expiring.example', 'new.example']);
  acme.kick(0);
  await waitFor(async () => lines.filter((l) => l.msg.startsWith('Unable to obtain')).length === 4, 'both failed again', 30_000, 50);
  assert.deepEqual(lines.filter((l) => l.msg.startsWith('Unable to obtain')).slice(2).map((l) => l.retryInMs), [120_000, 120_000], 'the backoff doubles');
  now += 60 * DAY;
  assert.deepEqual(acme.due(), ['fresh.example', 'expiring.example', 'new.example'], 'the clock moved: the fresh certificate is due too');
});

/**
 * The client against a real CA (pebble on loopback, validation switched off with
 * PEBBLE_VA_ALWAYS_VALID: the HTTP-01 answer through haproxy is the lab test's part): a
 * certificate for the name with its key, kept; nothing due while it is fresh; with the clock
 * moved into its last 30 days, a new one (another serial) replaces it.
 */
test('acme client against pebble: issued, not due while fresh, renewed when the clock says so', async (t) => {
  if (!requireHost(t, await hasPebble(), 'pebble not installed (Debian package pebble)')) return;
  const dir = await mkdtemp(join(tmpdir(), 'zos-acme-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const api = await selfSignedCert(dir);
  const [port, mgmt] = [await freePort(), await freePort()];
  await writeFile(join(dir, 'pebble.json'), JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${mgmt}`, certificate: api.certPath, privateKey: api.keyPath, httpPort: 80, tlsPort: 443, ocspResponderURL: '', externalAccountBindingRequired: false } }));
  const ca = execa('pebble', ['-config', join(dir, 'pebble.json')], { env: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' }, reject: false });
  t.after(() => ca.kill('SIGKILL'));
  await waitOutput(ca, /ACME directory available/);
  // The CA's API certificate is trusted as NODE_EXTRA_CA_CERTS would make it in the node.
  const agentCa = globalAgent.options.ca;
  globalAgent.options.ca = [...rootCertificates, api.cert.toString()];
  t.after(() => void (globalAgent.options.ca = agentCa));

  let now = Date.now();
  const stored = new Map<string, string>();
  const challenges: string[] = [];
  const proxy: GatewayCertificates = {
    terminatedNames: () => ['web.example.org'],
    certificates: () => [...stored].map(([fqdn, pem]) => ({ fqdn, notBefore: new Date(certificateOf(pem)!.validFrom), notAfter: new Date(certificateOf(pem)!.validTo) })),
    setCertificate: async (f, pem) => void stored.set(f, pem),
    removeCertificate: async (f) => void stored.delete(f),
    setChallenge: async (tok) => void challenges.push(tok),
    removeChallenge: async () => undefined,
    onRoutesChanged: () => undefined,
  };
  const acme = new AcmeCertificates({ directoryUrl: `https://127.0.0.1:${port}/dir`, email: 'x@example.org', dataDir: join(dir, 'acme'), proxy, log: silentLogger(), now: () => now });
  t.after(() => acme.close());
  acme.start();
  await waitFor(async () => stored.has('web.example.org'), 'a certificate from pebble', 60_000, 100);
  const firstPem = stored.get('web.example.org')!;
  const first = certificateOf(firstPem)!;
  assert.match(first.subjectAltName ?? '', /DNS:web\.example\.org/);
  assert.match(first.issuer, /Pebble Intermediate CA/);
  assert.ok(challenges.length >= 1, 'an HTTP-01 challenge was set');
  assert.equal(createPrivateKey(keyOf(firstPem)).asymmetricKeyDetails?.namedCurve, 'prime256v1', 'its P-256 key follows the chain');
  assert.deepEqual(acme.due(), [], 'fresh: nothing due');

  now = new Date(first.validTo).getTime() - 29 * DAY;
  assert.deepEqual(acme.due(), ['web.example.org']);
  acme.kick(0);
  await waitFor(async () => certificateOf(stored.get('web.example.org')!)!.serialNumber !== first.serialNumber, 'renewed', 60_000, 100);
  const second = certificateOf(stored.get('web.example.org')!)!;
  assert.ok(new Date(second.validTo) >= new Date(first.validTo), 'the new one ends no earlier (validity has 1 s resolution)');
  assert.notEqual(keyOf(stored.get('web.example.org')!), keyOf(firstPem), 'with a new key');
});

const keyOf = (pem: string) => /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(pem)![0];

async function hasPebble(): Promise<boolean> {
  return (await execa('which', ['pebble'], { reject: false })).exitCode === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
