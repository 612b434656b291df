import { expandMetadata } from '@polkadot/types';
import type { Call } from '@polkadot/types/interfaces';
import type { KeyringPair } from '@polkadot/keyring/types';
import { Keyring } from '@polkadot/keyring';
import { stringCamelCase, hexToU8a, u8aToHex } from '@polkadot/util';
import { WebSocket } from 'ws';
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

/** Signs a call for the chain of `ex` (nonce from the pool unless given; immortal unless an era is given). */
export function signExtrinsic(runtime: Runtime, ex: Executive, pair: KeyringPair, call: Call, o: SignOptions = {}): Uint8Array {
  const reg = runtime.registry;
  const genesisHash = o.genesisHash ?? ex.chain.genesis.hash;
  const era = o.era ? reg.createType('ExtrinsicEra', { current: o.era.birth, period: o.era.period }) : reg.createType('ExtrinsicEra', '0x00');
  const blockHash = o.blockHash ?? (o.era ? ex.chain.hashOf(o.era.birth)! : genesisHash);
  const xt = reg.createType('Extrinsic', call);
  xt.sign(pair, {
    blockHash,
    genesisHash,
    nonce: o.nonce ?? ex.nextIndex(u8aToHex(pair.publicKey)),
    tip: o.tip ?? 0n,
    era,
    runtimeVersion: { specVersion: o.specVersion ?? 152, transactionVersion: o.transactionVersion ?? 2 },
    signedExtensions: reg.signedExtensions,
  } as any);
  return hexToU8a(xt.toHex());
}

/** Builds a call by pallet and call name (Rust names). */
export function callOf(runtime: Runtime, pallet: string, call: string, ...args: unknown[]): Call {
  const decorated = expandMetadata(runtime.registry, runtime.metadata);
  return (decorated.tx as any)[stringCamelCase(pallet)][stringCamelCase(call)](...args);
}

/** An Executive on the dev genesis with a manual clock, plus helpers to build and sign extrinsics. */
export async function makeExecutive(endowed: Array<[string, bigint]> = [], maxAheadMs?: number) {
  const runtime = new Runtime(devnetPallets(await devGenesis({ endowed })));
  const clock = new ManualClock();
  const ex = new Executive({ runtime, clock, logger: silentLogger(), maxAheadMs });
  const decorated = expandMetadata(runtime.registry, runtime.metadata);
  const tx = (pallet: string, call: string, ...args: unknown[]): Call => (decorated.tx as any)[stringCamelCase(pallet)][stringCamelCase(call)](...args);
  const sign = (pair: KeyringPair, call: Call, o: SignOptions = {}): Uint8Array =>
    signExtrinsic(runtime, ex, pair, call, o);
  return { runtime, clock, ex, tx, sign };
}

/** A JSON-RPC client over one WebSocket that keeps every frame it receives, in order. */
export class RawRpc {
  readonly frames: any[] = [];
  private nextId = 1_000_000;
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(url: string): Promise<RawRpc> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new RawRpc(ws);
  }

  /** Waits for the first frame matching pred (already received or future). */
  async waitFor(pred: (f: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Sends a request and resolves to its whole response frame. */
  async call(method: string, params: unknown[] = []): Promise<any> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return this.waitFor((f) => f.id === id && this.frames.indexOf(f) >= from);
  }

  close(): void {
    this.ws.close();
  }
}
