/** Shared setup for the SmartContractModule tests: a runtime with a farm, a node and funded users, and a block driver. */
import { u8aToHex } from '@polkadot/util';
import { devnetPallets } from '../../chain/devnet/pallets/index.ts';
import type { SmartContractGenesis } from '../../chain/devnet/pallets/smart-contract/index.ts';
import { contractById, type ContractValue } from '../../chain/devnet/pallets/smart-contract/queries.ts';
import { Runtime } from '../../chain/devnet/runtime/runtime.ts';
import { DEV_BALANCE, dev, events, keyring, run, signed, tx } from './helpers/runtime.ts';
import { farm, node, ok, PUBLIC_IP, twin } from './tfgrid-fixtures.ts';

export { dev, events, ok, run, signed, tx, DEV_BALANCE };

export const NOW_MS = 1_700_000_000_000;
export const BLOCK_MS = 6000;
export const account = (uri: string): string => u8aToHex(keyring.addFromUri(uri).publicKey);
export const dave = account('//Dave');
export const ferdie = account('//Ferdie');
/** Dave starts poor so billing can run him dry. */
export const DAVE_BALANCE = 100_000n;

/** Deployment hashes are the ASCII of an md5 hex, as grid_client sends them. */
export const HASH_A = 'd41d8cd98f00b204e9800998ecf8427e';
export const HASH_B = '9e107d9d372bb6826bd81d3542a419d6';
export const HASH_C = 'e4d909c290d0fb1ca068ffaddf22cbd0';

/** A runtime at genesis, block 1 open, with Alice/Bob/Charlie/Ferdie rich and Dave poor. */
export function makeGridRuntime(smartContract: SmartContractGenesis = {}): Runtime {
  const endowed: Array<[string, bigint]> = [[dev.alice, DEV_BALANCE], [dev.bob, DEV_BALANCE], [dev.charlie, DEV_BALANCE], [ferdie, DEV_BALANCE], [dave, DAVE_BALANCE]];
  const rt = new Runtime(devnetPallets({ balances: { endowed }, smartContract }));
  rt.genesis();
  rt.writeStorage('System', 'Number', [], 1);
  rt.writeStorage('Timestamp', 'Now', [], NOW_MS);
  rt.resetEvents();
  return rt;
}

export const SECOND_IP = { ip: '185.206.122.34/24', gw: '185.206.122.1' };

export interface Grid {
  farmId: number;
  nodeId: number;
  /** Alice owns the farm, Bob's twin runs the node, Charlie and Dave deploy. */
  farmer: string;
  nodeAccount: string;
}

/** Alice's farm with `ips` public IPs, Bob's node on it, twins for Charlie and Dave. */
export function setupGrid(rt: Runtime, ips = [PUBLIC_IP, SECOND_IP]): Grid {
  const farmId = farm(rt, dev.alice, 'farm1', ips);
  const nodeId = node(rt, dev.bob, farmId);
  twin(rt, dev.charlie);
  twin(rt, dave);
  rt.resetEvents();
  return { farmId, nodeId, farmer: dev.alice, nodeAccount: dev.bob };
}

/** Dispatches a SmartContractModule call signed by `who`; the error name or null. */
export const sc = (rt: Runtime, who: string, name: string, ...args: unknown[]): string | null =>
  run(rt, signed(who), tx(rt, 'SmartContractModule', name, ...args));

export const rootSc = (rt: Runtime, name: string, ...args: unknown[]): string | null =>
  run(rt, { kind: 'root' }, tx(rt, 'SmartContractModule', name, ...args));

export const nodeContract = (rt: Runtime, who: string, nodeId: number, hash: string, ips = 0): string | null =>
  sc(rt, who, 'create_node_contract', nodeId, hash, 'deployment data', ips, null);

export const contract = (rt: Runtime, id: number): ContractValue | null => contractById(rt.hooks(), id);

export const storage = (rt: Runtime, item: string, ...keys: unknown[]): any => rt.readStorage('SmartContractModule', item, keys)?.toJSON() ?? null;

export const eventNames = (rt: Runtime): string[] => events(rt).map((e) => e[0]);

/**
 * Drives `count` blocks the way the executive does: System.Number and
 * Timestamp.Now advance, events reset, on_initialize, (no extrinsics),
 * on_finalize. Returns every event of those blocks.
 */
export function advance(rt: Runtime, count: number): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i < count; i++) {
    rt.writeStorage('System', 'Number', [], rt.blockNumber() + 1);
    rt.writeStorage('Timestamp', 'Now', [], rt.nowMs() + BLOCK_MS);
    rt.resetEvents();
    rt.setPhase('Initialization');
    rt.onInitialize();
    rt.setPhase('Finalization');
    rt.onFinalize();
    out.push(...events(rt));
  }
  rt.resetEvents();
  return out;
}

/** Advances to the next block whose number is ≡ slot (mod frequency), i.e. the next bill of contract `slot`. */
export function advanceToBill(rt: Runtime, contractId: number, frequency = 10): Array<[string, unknown]> {
  const now = rt.blockNumber();
  return advance(rt, (((contractId - now) % frequency) + frequency) % frequency || frequency);
}
