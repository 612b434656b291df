import type { RateLimitedLog } from '../lib/ratelog.ts';
import { lookupTwin, type Twin, type TwinDirectory } from '../rmb/twins.ts';
import type { SealContext } from './seal.ts';

/**
 * The seal context for what a peer sends (requests and replies). Encrypt only when our own
 * on-chain pk is our key: the other side decrypts with the pk it reads from chain, so a missing
 * or stale pk would make every message undecryptable.
 */
export class OutgoingSeal {
  /** The pk array our own twin was last seen with, equal to our key (a directory hands out the same array until the twin changes). */
  private publishedPk: Uint8Array | null = null;

  constructor(
    private readonly ctx: SealContext,
    private readonly twins: TwinDirectory,
    private readonly ownKey: Uint8Array,
    private readonly rlog: RateLimitedLog,
  ) {}

  context(): SealContext | Promise<SealContext> {
    if (!this.ctx.encrypt) return this.ctx;
    const me = lookupTwin(this.twins, this.ctx.twinId);
    return me instanceof Promise ? me.catch(() => null).then((t) => this.contextFor(t)) : this.contextFor(me);
  }

  private contextFor(me: Twin | null): SealContext {
    const pk = me?.pk;
    if (pk && pk === this.publishedPk) return this.ctx;
    if (pk && Buffer.from(pk).equals(this.ownKey)) {
      this.publishedPk = pk;
      return this.ctx;
    }
    this.rlog.warn('own_pk', { twin: this.ctx.twinId }, 'own twin pk not on chain: sending plain payloads');
    return { ...this.ctx, encrypt: false };
  }
}
