import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';
import { run } from '../exec.ts';
import type { ProxyAccount } from './privileges.ts';

/** What haproxy loads: the default certificate and the crt-list naming every other one. */
export interface StagedCertificates {
  defaultFile: string;
  list: string;
}

/**
 * The certificates the gateway terminates TLS with, kept in the node's state (one PEM per name:
 * chain then private key, 0600, written durably) and staged for haproxy in its run dir: all of
 * them at every load, one at a time when haproxy takes a name's certificate at run time (proxy.ts),
 * so a reload or restart finds the files as the running haproxy has them. A default self-signed
 * certificate answers SNI that matches no name (or a name whose certificate is not there yet),
 * as traefik's "TRAEFIK DEFAULT CERT" does on a zos gateway; the names' certificates are in a
 * crt-list, to which haproxy can add one at run time (a bind's `crt` list cannot grow).
 */
export class CertStore {
  private readonly pems = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Loads the stored certificates (the default one is made when haproxy first needs it: stage). */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const f of await readdir(this.dir)) {
      const m = /^(.+)\.pem$/.exec(f);
      if (!m || f === DEFAULT) continue;
      // One bad file must not stop the node's start, nor (loaded) make haproxy refuse every reload.
      const pem = await readFile(join(this.dir, f), 'utf8').catch(() => '');
      if (keyMatches(pem)) this.pems.set(m[1]!, pem);
      else this.log.warn({ file: f }, 'gateway certificate unreadable or not matching its key; ignored');
    }
  }

  /** The stored certificate of each name with its validity. */
  list(): Array<{ fqdn: string; notBefore: Date; notAfter: Date }> {
    return [...this.pems].map(([fqdn, pem]) => {
      const c = certificateOf(pem)!;
      return { fqdn, notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo) };
    });
  }

  get(fqdn: string): string | undefined {
    return this.pems.get(fqdn);
  }

  /** Stores a name's certificate (PEM chain followed by its private key). */
  async put(fqdn: string, pem: string): Promise<void> {
    const name = fileName(fqdn);
    if (!keyMatches(pem)) throw new Error(`gateway certificate for ${fqdn}: not a certificate and its key`);
    await writeFileDurably(join(this.dir, name), pem, 0o600);
    this.pems.set(fqdn, pem);
  }

  async remove(fqdn: string): Promise<void> {
    if (!this.pems.delete(fqdn)) return;
    await rm(join(this.dir, fileName(fqdn)), { force: true });
  }

  /**
   * Writes what haproxy loads into `runDir`, made anew: a directory of root's that haproxy's
   * group may read (nothing can be planted in it), files owned by haproxy's account, 0600 (it
   * parses its config as that account).
   */
  async stage(runDir: string, account: ProxyAccount): Promise<StagedCertificates> {
    await rm(runDir, { recursive: true, force: true });
    await mkdir(runDir, { mode: 0o750 });
    await chown(runDir, 0, account.gid);
    await stageFile(join(runDir, DEFAULT), await this.defaultPem(), account);
    for (const [fqdn, pem] of this.pems) await stageFile(join(runDir, fileName(fqdn)), pem, account);
    return this.stageList(runDir, account);
  }

  /** Stages one name's stored certificate (or removes it when none is stored) and the crt-list; returns the name's file. */
  async stageName(runDir: string, account: ProxyAccount, fqdn: string): Promise<{ file: string; staged: StagedCertificates }> {
    const file = join(runDir, fileName(fqdn));
    const pem = this.pems.get(fqdn);
    if (pem) await stageFile(file, pem, account);
    else await rm(file, { force: true });
    return { file, staged: await this.stageList(runDir, account) };
  }

  private async stageList(runDir: string, account: ProxyAccount): Promise<StagedCertificates> {
    const list = join(runDir, LIST);
    const names = [...this.pems.keys()].sort((a, b) => a.localeCompare(b));
    await stageFile(list, names.map((fqdn) => `${join(runDir, fileName(fqdn))}\n`).join(''), account);
    return { defaultFile: join(runDir, DEFAULT), list };
  }

  /**
   * The default certificate, made on first use: a node without gateways never runs openssl, and
   * a failure to make it fails the gateway's reload, not the node's start.
   */
  async defaultPem(): Promise<string> {
    const stored = await readFile(join(this.dir, DEFAULT), 'utf8').catch(() => '');
    if (certificateOf(stored)) return stored;
    await this.makeDefault();
    return readFile(join(this.dir, DEFAULT), 'utf8');
  }

  private async makeDefault(): Promise<void> {
    const key = join(this.dir, 'default.key.tmp');
    const crt = join(this.dir, 'default.crt.tmp');
    try {
      // `-config /dev/null`: everything req needs is on the command line, and the OS image carries
      // no openssl.cnf (without it req fails).
      await run('openssl', ['req', '-config', '/dev/null', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
        '-subj', '/CN=ZOS GATEWAY DEFAULT CERT', '-keyout', key, '-out', crt], { log: this.log });
      await writeFileDurably(join(this.dir, DEFAULT), `${await readFile(crt, 'utf8')}${await readFile(key, 'utf8')}`, 0o600);
    } finally {
      await rm(key, { force: true });
      await rm(crt, { force: true });
    }
  }
}

/** The default certificate's file and the crt-list's (a host name cannot start with `_`). */
const DEFAULT = '_default.pem';
const LIST = '_names.list';

async function stageFile(file: string, text: string, account: ProxyAccount): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chown(file, account.uid, account.gid);
}

function fileName(fqdn: string): string {
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(fqdn)) throw new Error(`gateway certificate: invalid name ${fqdn}`);
  return `${fqdn}.pem`;
}

/** Whether a PEM bundle holds a certificate and the private key of that certificate (haproxy refuses a config with any other). */
function keyMatches(pem: string): boolean {
  const cert = certificateOf(pem);
  const key = /-----BEGIN (EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/.exec(pem);
  if (!cert || !key) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(key[0]));
  } catch {
    return false;
  }
}

/** The first certificate of a PEM bundle, or undefined. */
export function certificateOf(pem: string): X509Certificate | undefined {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  try {
    return m ? new X509Certificate(m[0]) : undefined;
  } catch {
    return undefined;
  }
}
