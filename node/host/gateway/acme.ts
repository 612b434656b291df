import { mkdir, readFile } from 'node:fs/promises';
import { get } from 'node:https';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';
import { Serial } from '../../../lib/serial.ts';
import type { GatewayCertificates } from './proxy.ts';

/**
 * Certificates for gateway names whose TLS the node terminates, from an ACME CA (Let's Encrypt
 * by default, as zos' traefik), HTTP-01 only: the key authorisation is answered by the gateway's
 * own haproxy on :80 (GatewayCertificates.setChallenge), so the node dials out and never listens.
 *
 * Like traefik on a zos gateway, a name is served before it has a certificate (with the default
 * one) and a failure does not fail the workload: it is logged in traefik's words and retried
 * with a backoff per name. A certificate is renewed when less than a third of its lifetime or 30
 * days (traefik's margin for Let's Encrypt's 90 days) is left, whichever is less.
 *
 * Where zos differs: it gets one wildcard certificate `*.<gateway domain>` for every name proxy
 * by DNS-01 (a dnsmasq it starts in the public namespace answers the TXT record); here each name
 * gets its own certificate by HTTP-01, as zos does for fqdn proxies.
 */
export interface AcmeOptions {
  /** The CA's directory URL. */
  directoryUrl: string;
  /** The account's contact (zos: letsencrypt@threefold.tech). */
  email: string;
  /** Where the account key is kept (0600). */
  dataDir: string;
  proxy: GatewayCertificates;
  log: Logger;
  /** How often names are checked for a missing or expiring certificate (default 1 h; also after every route change). */
  checkMs?: number;
  /** First retry after a failure; doubles up to retryMaxMs (defaults 1 min and 6 h). */
  retryMs?: number;
  retryMaxMs?: number;
  /**
   * acme-client's own retries of one request (network errors, 429 and 5xx, waiting 5 s, 10 s, …
   * or the CA's Retry-After); default 5 as acme-client. Failures beyond them back off per name.
   */
  requestRetries?: number;
  /** The clock (tests move it to make certificates due). */
  now?: () => number;
}

/** Let's Encrypt's production directory, what zos' traefik uses. */
export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
/** The contact zos gives Let's Encrypt. */
export const ZOS_ACME_EMAIL = 'letsencrypt@threefold.tech';

const DAY = 86_400_000;

/** Whether a certificate valid from `notBefore` to `notAfter` is due for renewal at `now`. */
export function renewalDue(notBefore: Date, notAfter: Date, now: number): boolean {
  const margin = Math.min(30 * DAY, (notAfter.getTime() - notBefore.getTime()) / 3);
  return notAfter.getTime() - now < margin;
}

export class AcmeCertificates {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private readonly steps = new Serial();
  /** Per name: when it may be tried again and the next delay. */
  private readonly failures = new Map<string, { at: number; delay: number }>();
  private client: import('acme-client').Client | undefined;
  private closed = false;

  constructor(private readonly o: AcmeOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.o.checkMs ?? 3_600_000);
    this.timer.unref();
    this.kick();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  /** Checks the names soon (routes changed, or a retry is due); several kicks make one pass. */
  kick(delayMs = 200): void {
    if (this.closed || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.steps.run(() => this.pass()).catch((err: Error) => this.o.log.error({ err: err.message }, 'acme pass failed'));
    }, delayMs);
    this.soon.unref();
  }

  /** The names that need a certificate now: terminated, without a current one, not waiting for a retry. */
  due(): string[] {
    const now = this.now();
    const certs = new Map(this.o.proxy.certificates().map((c) => [c.fqdn, c]));
    return this.o.proxy.terminatedNames().filter((n) => {
      const c = certs.get(n);
      if (c && !renewalDue(c.notBefore, c.notAfter, now)) return false;
      return (this.failures.get(n)?.at ?? 0) <= now;
    });
  }

  private async pass(): Promise<void> {
    for (const fqdn of this.due()) {
      if (this.closed) return;
      try {
        const pem = await this.obtain(fqdn);
        // The name may have gone while its order ran: then its certificate is not kept.
        if (!this.o.proxy.terminatedNames().includes(fqdn)) continue;
        await this.o.proxy.setCertificate(fqdn, pem);
        this.failures.delete(fqdn);
        this.o.log.info({ domain: fqdn }, 'acme certificate obtained');
      } catch (err) {
        const prev = this.failures.get(fqdn)?.delay;
        const delay = prev ? Math.min(prev * 2, this.o.retryMaxMs ?? 6 * 3_600_000) : (this.o.retryMs ?? 60_000);
        this.failures.set(fqdn, { at: this.now() + delay, delay });
        // traefik's words for the same failure on a zos gateway.
        this.o.log.error({ providerName: 'resolver.acme', retryInMs: delay }, `Unable to obtain ACME certificate for domains "${fqdn}": ${(err as Error).message}`);
        this.retryLater(delay);
      }
    }
  }

  private retryLater(delay: number): void {
    const t = setTimeout(() => this.kick(0), delay + 10);
    t.unref();
  }

  /** One order for `fqdn`: account (made or found by its key), HTTP-01 answered by the proxy, a P-256 key; chain then key as PEM. */
  private async obtain(fqdn: string): Promise<string> {
    await reachable(this.o.directoryUrl);
    const acme = await import('acme-client');
    // acme-client's settings live on its axios instance's defaults, untyped in its declarations.
    (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = this.o.requestRetries ?? 5;
    this.client ??= new acme.Client({ directoryUrl: this.o.directoryUrl, accountKey: await this.accountKey() });
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: fqdn, altNames: [fqdn] }, key);
    const chain = await this.client.auto({
      csr, email: this.o.email, termsOfServiceAgreed: true, challengePriority: ['http-01'],
      // The CA checks the answer from outside; the node cannot reach its own public address from where it runs.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => this.o.proxy.setChallenge(challenge.token, keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => this.o.proxy.removeChallenge(challenge.token),
    });
    return `${chain.trim()}\n${key.toString().trim()}\n`;
  }

  /** The account key (P-256), made once and kept 0600. */
  private async accountKey(): Promise<string> {
    const file = join(this.o.dataDir, 'account.pem');
    const stored = await readFile(file, 'utf8').catch(() => '');
    if (stored.includes('PRIVATE KEY')) return stored;
    const acme = await import('acme-client');
    const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    await mkdir(this.o.dataDir, { recursive: true, mode: 0o700 });
    await writeFileDurably(file, key, 0o600);
    return key;
  }
}

/**
 * Fails with the network's own error when the CA's directory cannot be fetched: acme-client,
 * after its retries, reports a failed connection as a TypeError about an undefined response.
 */
function reachable(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 15_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`${url}: HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}
