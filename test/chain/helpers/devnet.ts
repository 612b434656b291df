import { expandMetadata } from '@polkadot/types';
import type { Call } from '@polkadot/types/interfaces';
import type { KeyringPair } from '@polkadot/keyring/types';
import { Keyring } from '@polkadot/keyring';
import { stringCamelCase, hexToU8a } from '@polkadot/util';
import type { Clock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import { Executive } from '../../../chain/devnet/executive/executive.ts';
import { devGenesis } from '../../../chain/devnet/genesis.ts';
import { devnetPallets } from '../../../chain/devnet/pallets/index.ts';
import { Runtime } from '../../../chain/devnet/runtime/runtime.ts';

/** A clock whose timers fire only when the test calls tick(). */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  constructor(public nowMs = 1_700_000_000_000) {}
  now(): number {
    return this.nowMs;
  }
  async sleep(): Promise<void> {}
  setTimeout(fn: () => void, ms: number) {
    const t = { at: this.nowMs + ms, fn, live: true };
    this.timers.push(t);
    return { cancel: () => void (t.live = false) };
  }
  /** Advances time, firing due timers in order. */
  tick(ms: number): void {
    this.nowMs += ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= this.nowMs).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      due.live = false;
      this.timers = this.timers.filter((t) => t.live);
      due.fn();
    }
  }
}

export const sr = new Keyring({ type: 'sr25519' });
export const ed = new Keyring({ type: 'ed25519' });

export interface SignOptions {
  nonce?: number;
  tip?: bigint;
  /** Mortal era: birth block number and period; immortal when absent. */
  era?: { birth: number; period: number };
  genesisHash?: string;
  specVersion?: number;
  transactionVersion?: number;
  blockHash?: string;
}

/** An Executive on the dev genesis with a manual clock, plus helpers to build and sign extrinsics. */
export async function makeExecutive(endowed: Array<[string, bigint]> = []) {
  const runtime = new Runtime(devnetPallets(await devGenesis({ endowed })));
  const clock = new ManualClock();
  const ex = new Executive({ runtime, clock, logger: silentLogger() });
  const decorated = expandMetadata(runtime.registry, runtime.metadata);
  const tx = (pallet: string, call: string, ...args: unknown[]): Call => (decorated.tx as any)[stringCamelCase(pallet)][stringCamelCase(call)](...args);
  const sign = (pair: KeyringPair, call: Call, o: SignOptions = {}): Uint8Array => {
    const reg = runtime.registry;
    const genesisHash = o.genesisHash ?? ex.chain.genesis.hash;
    const era = o.era ? reg.createType('ExtrinsicEra', { current: o.era.birth, period: o.era.period }) : reg.createType('ExtrinsicEra', '0x00');
    const blockHash = o.blockHash ?? (o.era ? ex.chain.hashOf(o.era.birth)! : genesisHash);
    const xt = reg.createType('Extrinsic', call);
    xt.sign(pair, {
      blockHash,
      genesisHash,
      nonce: o.nonce ?? ex.nextIndex(`0x${Buffer.from(pair.publicKey).toString('hex')}`),
      tip: o.tip ?? 0n,
      era,
      runtimeVersion: { specVersion: o.specVersion ?? 152, transactionVersion: o.transactionVersion ?? 2 },
      signedExtensions: reg.signedExtensions,
    } as any);
    return hexToU8a(xt.toHex());
  };
  return { runtime, clock, ex, tx, sign };
}
