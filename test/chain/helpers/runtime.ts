import { expandMetadata } from '@polkadot/types';
import type { Call } from '@polkadot/types/interfaces';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex, stringCamelCase } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { Runtime } from '../../../chain/devnet/runtime/runtime.ts';
import { devnetPallets } from '../../../chain/devnet/pallets/index.ts';
import type { Origin } from '../../../chain/devnet/runtime/context.ts';
import { DispatchFailure } from '../../../chain/devnet/runtime/errors.ts';

await cryptoWaitReady();
export const keyring = new Keyring({ type: 'sr25519' });
export const dev = {
  alice: u8aToHex(keyring.addFromUri('//Alice').publicKey),
  bob: u8aToHex(keyring.addFromUri('//Bob').publicKey),
  charlie: u8aToHex(keyring.addFromUri('//Charlie').publicKey),
};
export const DEV_BALANCE = 1n << 60n;

/** A runtime at genesis with Alice, Bob and Charlie funded, Timestamp.Now set and block 1 open. */
export function makeRuntime(nowMs = 1_700_000_000_000): Runtime {
  const rt = new Runtime(devnetPallets({ balances: { endowed: [[dev.alice, DEV_BALANCE], [dev.bob, DEV_BALANCE], [dev.charlie, DEV_BALANCE]] } }));
  rt.genesis();
  rt.state.set(rt.storageKey('System', 'Number'), rt.registry.createType('u32', 1).toU8a());
  rt.state.set(rt.storageKey('Timestamp', 'Now'), rt.registry.createType('u64', nowMs).toU8a());
  rt.resetEvents();
  return rt;
}

/** Builds a call by pallet and call name (Rust names), e.g. tx(rt, 'TfgridModule', 'create_twin', relay, pk). */
export function tx(rt: Runtime, pallet: string, call: string, ...args: unknown[]): Call {
  const decorated = expandMetadata(rt.registry, rt.metadata);
  const fn = (decorated.tx as any)[stringCamelCase(pallet)]?.[stringCamelCase(call)];
  if (!fn) throw new Error(`no call ${pallet}.${call}`);
  return fn(...args) as Call;
}

export const signed = (account: string): Origin => ({ kind: 'signed', account });

/** Dispatches and returns the error name (`Pallet.Error`, or the DispatchError kind), or null on success. */
export function run(rt: Runtime, origin: Origin, call: Call): string | null {
  try {
    rt.dispatchCall(call, origin);
    return null;
  } catch (err) {
    if (err instanceof DispatchFailure) return err.pallet ? `${err.pallet}.${err.errorName}` : err.errorName ? `${err.kind}.${err.errorName}` : err.kind;
    throw err;
  }
}

/** Decoded events of the block so far as [section.method, data JSON]. */
export function events(rt: Runtime): Array<[string, unknown]> {
  const records = rt.registry.createType('Vec<FrameSystemEventRecord>', rt.encodeEvents()) as any;
  return records.map((r: any) => [`${r.event.section}.${r.event.method}`, r.event.data.toJSON()]);
}
