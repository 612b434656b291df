import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertStore } from '../../node/host/gateway/certs.ts';
import { silentLogger } from '../../lib/log.ts';

// The OS image carries no openssl.cnf: a default certificate made where openssl finds no
// configuration (OPENSSL_CONF naming a missing file) must still be made (test/os/boot's node died
// at start before `-config /dev/null`, when the store made it while loading).
test('gateway certs: the default certificate is made without an openssl.cnf', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-certs-'));
  const before = process.env.OPENSSL_CONF;
  process.env.OPENSSL_CONF = join(dir, 'missing.cnf');
  try {
    const store = new CertStore(join(dir, 'certs'), silentLogger());
    await store.load();
    await store.defaultPem();
    const pem = await readFile(join(dir, 'certs', '_default.pem'), 'utf8');
    assert.match(new X509Certificate(pem).subject, /CN=ZOS GATEWAY DEFAULT CERT/);
    assert.match(pem, /-----BEGIN PRIVATE KEY-----/);
    assert.equal((await stat(join(dir, 'certs', '_default.pem'))).mode & 0o777, 0o600);
  } finally {
    if (before === undefined) delete process.env.OPENSSL_CONF;
    else process.env.OPENSSL_CONF = before;
    await rm(dir, { recursive: true, force: true });
  }
});
