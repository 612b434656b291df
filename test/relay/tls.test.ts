import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { requireHost } from '../helpers/host.ts';
import { startPeer, twoTwins } from './fixture.ts';

test('relay TLS: serves wss:// with --tls-cert/--tls-key and peers talk through it', async (t) => {
  const openssl = await execa('openssl', ['version'], { reject: false });
  if (!requireHost(t, openssl.exitCode === 0, 'openssl not installed (needed to make a test certificate)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  await execa('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ]);
  const pem = readFileSync(cert);
  const { a, b, twins, relay } = await twoTwins(t, { tls: { cert: pem, key: readFileSync(key) } });
  assert.match(relay.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
  const pa = await startPeer(t, a, [relay.url], twins, { ca: pem });
  const pb = await startPeer(t, b, [relay.url], twins, { ca: pem });
  pb.handle('echo', (p) => p);
  assert.deepEqual(await pa.request(2, 'echo', { tls: true }), { tls: true });
  const metrics = await fetch(`${relay.url.replace('wss', 'https')}/metrics`).then(
    () => 'trusted?!',
    (err: Error) => err.message,
  );
  assert.notEqual(metrics, 'trusted?!', 'an untrusted client must not accept the self-signed cert');
});
