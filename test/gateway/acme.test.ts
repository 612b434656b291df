import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AcmeCertificates, renewalDue, type GatewayCertificates } from '../../node/host/gateway/index.ts';
import { waitFor } from '../helpers/grid.ts';

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
