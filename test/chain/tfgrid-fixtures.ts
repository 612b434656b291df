/** Shared setup for the TfgridModule tests: a runtime with helpers to register twins, farms and nodes. */
import assert from 'node:assert/strict';
import { u8aToHex } from '@polkadot/util';
import { Runtime } from '../../chain/devnet/runtime/runtime.ts';
import type { PalletDecl } from '../../chain/devnet/runtime/pallet.ts';
import { systemPallet } from '../../chain/devnet/pallets/system.ts';
import { timestampPallet } from '../../chain/devnet/pallets/timestamp.ts';
import { makeRuntime, run, signed, tx, dev, events, keyring } from './helpers/runtime.ts';

export { dev, events, keyring, makeRuntime, run, signed, tx };

export const GIB = 1024 ** 3;
export const NOW_MS = 1_700_000_000_000;
export const NOW_S = NOW_MS / 1000;

/** A runtime with only System, Timestamp and the given pallets, at block 1 and NOW_MS (no fees, no balances). */
export function runtimeWith(pallets: PalletDecl[]): Runtime {
  const rt = new Runtime([systemPallet(), timestampPallet(), ...pallets]);
  rt.genesis();
  rt.state.set(rt.storageKey('System', 'Number'), rt.registry.createType('u32', 1).toU8a());
  rt.state.set(rt.storageKey('Timestamp', 'Now'), rt.registry.createType('u64', NOW_MS).toU8a());
  return rt;
}

export const call = (rt: Runtime, who: string, name: string, ...args: unknown[]): string | null =>
  run(rt, signed(who), tx(rt, 'TfgridModule', name, ...args));

export const rootCall = (rt: Runtime, name: string, ...args: unknown[]): string | null =>
  run(rt, { kind: 'root' }, tx(rt, 'TfgridModule', name, ...args));

export const ok = (result: string | null): void => assert.equal(result, null);

/** Every storage key and value, to prove a failed call changed nothing. */
export const snapshot = (rt: Runtime): Map<string, string> =>
  new Map(rt.state.keys().map((k) => [k, u8aToHex(rt.state.get(k)!)]));

/** Accepts T&C and creates a twin for `who`. */
export function twin(rt: Runtime, who: string, relay: string | null = 'relay.dev.grid.tf'): void {
  ok(call(rt, who, 'user_accept_tc', 'https://library.threefold.me/info/legal/#/', 'garbage'));
  ok(call(rt, who, 'create_twin', relay, null));
}

export const PUBLIC_IP = { ip: '185.206.122.33/24', gw: '185.206.122.1' };

/** Twin + farm for `who`; returns the farm id (FarmID after the call). */
export function farm(rt: Runtime, who: string, name = 'farm1', ips = [PUBLIC_IP]): number {
  if (rt.readStorage('TfgridModule', 'TwinIdByAccountID', [who]) === null) twin(rt, who);
  ok(call(rt, who, 'create_farm', name, ips));
  return (rt.readStorage('TfgridModule', 'FarmID', []) as any).toNumber();
}

export const RESOURCES = { hru: 1024 * GIB, sru: 512 * GIB, cru: 8, mru: 16 * GIB };
export const LOCATION = { city: 'Ghent', country: 'Belgium', latitude: '51.05', longitude: '3.71' };
export const INTERFACES = [{ name: 'zos', mac: '00:25:90:b8:1d:2a', ips: ['10.0.0.2'] }];

export interface NodeArgs {
  resources?: typeof RESOURCES;
  location?: typeof LOCATION;
  interfaces?: typeof INTERFACES;
  serial?: string | null;
}

export const nodeArgs = (a: NodeArgs = {}) =>
  [a.resources ?? RESOURCES, a.location ?? LOCATION, a.interfaces ?? INTERFACES, false, false, a.serial === undefined ? 'SN-1' : a.serial] as const;

/** Twin for `who` + create_node on `farmId`; returns the node id. */
export function node(rt: Runtime, who: string, farmId: number, a: NodeArgs = {}): number {
  if (rt.readStorage('TfgridModule', 'TwinIdByAccountID', [who]) === null) twin(rt, who);
  ok(call(rt, who, 'create_node', farmId, ...nodeArgs(a)));
  return (rt.readStorage('TfgridModule', 'NodeID', []) as any).toNumber();
}

/** Event names (`tfgridModule.X`) of the block so far. */
export const eventNames = (rt: Runtime): string[] => events(rt).map((e) => e[0]);
