// pebble (Let's Encrypt's test CA, Debian package `pebble`) in a lab namespace, for the gateway's
// ACME client. Its API is HTTPS with a certificate made here (the node trusts it through
// NODE_EXTRA_CA_CERTS); its validation authority resolves names through the lab's DNS server and
// dials HTTP-01 on port 80, as Let's Encrypt does.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, LabHost } from '../helpers/lab.ts';
import { waitOutput } from '../helpers/lab.ts';
import { selfSignedCert } from '../helpers/tls.ts';

export interface Pebble {
  /** The ACME directory URL. */
  directoryUrl: string;
  /** pebble's own API certificate (for NODE_EXTRA_CA_CERTS). */
  apiCert: string;
  /** Writes the root that issued the gateways' certificates (from pebble's management API) and returns its path. */
  root(): Promise<string>;
}

export async function startPebble(lab: Lab, host: LabHost, dir: string, dnsServer: string): Promise<Pebble> {
  const home = join(dir, 'pebble');
  await mkdir(home, { recursive: true });
  const api = await selfSignedCert(home, host.ip);
  const config = join(home, 'config.json');
  await writeFile(config, JSON.stringify({
    pebble: {
      listenAddress: `${host.ip}:14000`, managementListenAddress: `${host.ip}:15000`, certificate: api.certPath, privateKey: api.keyPath,
      httpPort: 80, tlsPort: 443, ocspResponderURL: '', externalAccountBindingRequired: false,
    },
  }));
  // No random validation delay; no nonces rejected at random (both are pebble's defaults to shake out clients).
  const p = lab.spawn(host, 'pebble', ['-config', config, '-dnsserver', dnsServer], { env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' } });
  await waitOutput(p, /ACME directory available/);
  return {
    directoryUrl: `https://${host.ip}:14000/dir`,
    apiCert: api.certPath,
    async root() {
      const r = await lab.exec(host, 'curl', ['-sf', '--cacert', api.certPath, `https://${host.ip}:15000/roots/0`]);
      const file = join(home, 'root.pem');
      await writeFile(file, r.stdout);
      return file;
    },
  };
}
