import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import type { RateLimitedLog } from '../lib/ratelog.ts';
import type { Envelope } from '../rmb/envelope.ts';
import { RelayWireError } from './errors.ts';
import { DEFAULT_LIMITS, type RelayLimits } from './limits.ts';
import type { RelayMetrics } from './metrics.ts';

/**
 * Hands envelopes for twins on other relays to those relays with `POST <domain>/` (reference §6):
 * up to 3 passes over the twin's domains with 100/200 ms jittered pauses; 202 = done; 4xx =
 * permanent (error to sender); 5xx or network errors are retried every few seconds until the
 * envelope expires (error "message has expired"), but never longer than `maxTtlS` whatever
 * expiration the envelope claims. Pending sends live in memory only and are bounded in count
 * and bytes; past the bound a new envelope is refused at once.
 */
export interface FederatorOptions {
  clock: Clock;
  log: Logger;
  rlog: RateLimitedLog;
  metrics: RelayMetrics;
  /** URL for a domain; rmb-rs uses https://<domain>/. */
  urlFor?: (domain: string) => string;
  /** Called for a request that could not be federated: the relay answers its sender. */
  onReject: (env: Envelope, message: string) => void;
  retryMs?: number;
  limits?: Pick<RelayLimits, 'federationPending' | 'federationPendingBytes' | 'federationMaxTtlS'>;
}

type Attempt = 'ok' | 'permanent' | 'retry';

export class Federator {
  private readonly abort = new AbortController();
  private readonly pending = new Set<Promise<void>>();
  private readonly urlFor: (domain: string) => string;
  private readonly limits: NonNullable<FederatorOptions['limits']>;
  private pendingBytes = 0;

  constructor(private readonly opts: FederatorOptions) {
    this.urlFor = opts.urlFor ?? ((d) => `https://${d}/`);
    this.limits = opts.limits ?? DEFAULT_LIMITS;
  }

  /** Starts federating; returns why it was refused (pending sends at their bound), else null. */
  send(env: Envelope, bytes: Uint8Array, domains: string[]): string | null {
    if (this.pending.size >= this.limits.federationPending || this.pendingBytes + bytes.length > this.limits.federationPendingBytes) {
      return 'federation queue is full';
    }
    this.pendingBytes += bytes.length;
    const p = this.run(env, bytes, domains).catch((err: unknown) =>
      this.opts.log.error({ err }, 'federation failed unexpectedly'),
    );
    this.pending.add(p);
    void p.finally(() => {
      this.pending.delete(p);
      this.pendingBytes -= bytes.length;
    });
    return null;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
  }

  private async run(env: Envelope, bytes: Uint8Array, domains: string[]): Promise<void> {
    const { clock, metrics } = this.opts;
    const signal = this.abort.signal;
    const deadlineS = Math.min(env.timestamp + env.expiration, Math.floor(clock.now() / 1000) + this.limits.federationMaxTtlS);
    while (!signal.aborted) {
      if (deadlineS <= Math.floor(clock.now() / 1000)) {
        metrics.drops.inc({ reason: 'federation_expired' });
        this.opts.onReject(env, RelayWireError.expired);
        return;
      }
      for (let pass = 0; pass < 3; pass++) {
        for (const domain of domains) {
          const r = await this.attempt(domain, bytes, signal);
          if (r === 'ok') {
            metrics.messages.inc({ kind: 'federated_out' });
            return;
          }
          if (r === 'permanent') {
            metrics.drops.inc({ reason: 'federation_rejected' });
            this.opts.onReject(env, RelayWireError.remoteRejected);
            return;
          }
        }
        if (pass < 2) await clock.sleep((pass + 1) * 100 * (0.5 + Math.random()), signal).catch(() => undefined);
      }
      await clock.sleep(this.opts.retryMs ?? 3_000, signal).catch(() => undefined);
    }
  }

  private async attempt(domain: string, bytes: Uint8Array, signal: AbortSignal): Promise<Attempt> {
    try {
      const res = await fetch(this.urlFor(domain), {
        method: 'POST',
        body: new Uint8Array(bytes) as Uint8Array<ArrayBuffer>,
        headers: { 'content-type': 'application/octet-stream' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 202 || res.ok) return 'ok';
      if (res.status >= 400 && res.status < 500) return 'permanent';
      return 'retry';
    } catch (err) {
      this.opts.rlog.warn(`federate:${domain}`, { domain, err: (err as Error).message }, 'federation attempt failed');
      return 'retry';
    }
  }
}
