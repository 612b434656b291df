import type { Logger } from '../lib/log.ts';
import type { AccountClient, ChainClient } from '../chain/client/index.ts';
import type { Identity } from './identity.ts';
import type { Resources } from './capacity.ts';
import type { HostSystem } from './host/system/index.ts';
import type { GeoIp } from './geoip.ts';

export interface RegistrarOptions {
  client: ChainClient;
  account: AccountClient;
  identity: Identity;
  farmId: number;
  relays: string[];
  resources: () => Promise<Resources>;
  /** Secure boot, virtualization and serial come from the host, as zos reads them. */
  host: Pick<HostSystem, 'registrationFacts' | 'zosInterfaces'>;
  /** The location registered; "Unknown" where no geoip service answers. */
  geoip: Pick<GeoIp, 'location'>;
  /** grid activation service (POST {substrateAccountID}) used when the account cannot pay fees. */
  activationUrl?: string;
  log: Logger;
}

/** Below this free balance (units, 1 TFT = 1e7) the node asks the activation service for funds. */
const MIN_FREE = 1_000_000n;

/**
 * Keeps the node's registration true on chain (zos pkg/registrar): funds, terms, twin
 * (relay hosts and e2e pk) and node (capacity, interfaces). Each call is idempotent:
 * it changes only what differs.
 */
export class Registrar {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(private readonly o: RegistrarOptions) {}

  /** Re-checks the registration every `everyMs` (zos: 24 h), so capacity or relay changes reach the chain. */
  start(everyMs: number, clock: { sleep(ms: number, signal?: AbortSignal): Promise<void> }): void {
    this.loop ??= (async () => {
      while (!this.abort.signal.aborted) {
        try {
          await clock.sleep(everyMs, this.abort.signal);
        } catch {
          return;
        }
        await this.register().catch((err: Error) => this.o.log.warn({ err: err.message }, 'registration check failed; retrying later'));
      }
    })();
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  async register(): Promise<{ twinId: number; nodeId: number }> {
    const { account, identity, log } = this.o;
    await this.ensureFunds();
    if (await account.ensureTermsAccepted()) log.info('accepted terms and conditions');
    const twin = await account.ensureTwin({ relay: this.o.relays, pk: identity.secpPublic });
    if (twin.change !== 'unchanged') log.info({ twin: twin.twinId, change: twin.change }, 'twin registered');
    const node = await account.ensureNode({
      farmId: this.o.farmId,
      resources: await this.o.resources(),
      location: await this.location(),
      interfaces: await this.o.host.zosInterfaces(),
      ...(await this.o.host.registrationFacts()),
    });
    if (node.change !== 'unchanged') log.info({ node: node.nodeId, change: node.change }, 'node registered');
    return { twinId: twin.twinId, nodeId: node.nodeId };
  }

  /** zos registers the geoip answer, numbers printed as Go's fmt.Sprint does. */
  private async location(): Promise<{ city: string; country: string; latitude: string; longitude: string }> {
    const loc = await this.o.geoip.location().catch(() => null);
    if (!loc) return { city: 'Unknown', country: 'Unknown', latitude: 'Unknown', longitude: 'Unknown' };
    return { city: loc.city_name, country: loc.country_name, latitude: String(loc.latitude), longitude: String(loc.longitude) };
  }

  private async ensureFunds(): Promise<void> {
    const { client, identity, activationUrl, log } = this.o;
    const balance = await client.query.balance(identity.address);
    if (balance.free >= MIN_FREE) return;
    if (!activationUrl) {
      throw new Error(`node account ${identity.address} has no funds to pay fees; fund it or pass --activation-url`);
    }
    log.info({ account: identity.address }, 'asking the activation service for funds');
    const res = await fetch(activationUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ substrateAccountID: identity.address }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`activation service answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    for (let i = 0; i < 30; i++) {
      if ((await client.query.balance(identity.address)).free >= MIN_FREE) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('activation service accepted the request but the account is still unfunded');
  }
}
