// TLS and port helpers for tests whose servers must look like the real grid's (a relay on 443,
// https for grid_client's KYC). Kept apart from test/compat/helpers.ts, whose official clients
// take seconds to load, so that a lab test that only needs a certificate does not load them.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';

/** A self-signed P-256 certificate for `ip` (IP SAN; default 127.0.0.1) and `alsoIps`, written to `dir`. */
export async function selfSignedCert(dir: string, ip = '127.0.0.1', alsoIps: string[] = []): Promise<{ certPath: string; keyPath: string; cert: Buffer; key: Buffer }> {
  const certPath = join(dir, 'relay.crt');
  const keyPath = join(dir, 'relay.key');
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${ip}`, '-addext', `subjectAltName=${[ip, ...alsoIps].map((a) => `IP:${a}`).join(',')}`, '-keyout', keyPath, '-out', certPath]);
  return { certPath, keyPath, cert: await readFile(certPath), key: await readFile(keyPath) };
}

/** Why we cannot listen on host:port (null when we can). */
export function cannotListen(port: number, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    srv.listen(port, host, () => srv.close(() => resolve(null)));
  });
}

/** Whether openssl runs here. */
export async function hasOpenssl(): Promise<boolean> {
  return (await execa('openssl', ['version'], { reject: false })).exitCode === 0;
}
