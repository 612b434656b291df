import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { REFERENCE_PATH } from './helpers/reference-metadata.ts';

/**
 * A type registry carrying the real spec-152 metadata (read from the shared folder at test time),
 * so sample Codec JSON and module errors are produced exactly as against tfchain.
 */
let cached: TypeRegistry | null | undefined;
export function referenceRegistry(): TypeRegistry | null {
  if (cached !== undefined) return cached;
  if (!existsSync(REFERENCE_PATH)) return (cached = null);
  const reg = new TypeRegistry();
  const quiet = console.warn;
  console.warn = () => {}; // "Unknown signed extensions ContractIdProvides" is expected
  try {
    reg.setMetadata(new Metadata(reg, JSON.parse(readFileSync(REFERENCE_PATH, 'utf8')).result));
  } finally {
    console.warn = quiet;
  }
  return (cached = reg);
}

/** The JSON polkadot-js gives for a value of a spec-152 type. */
export function codecJson(type: string, value: unknown): unknown {
  const reg = referenceRegistry();
  if (!reg) throw new Error(`reference metadata missing at ${REFERENCE_PATH}`);
  return reg.createType(type, value).toJSON();
}

export const ALICE_HEX = '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d';
export const ALICE_SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
export const HASH = 'd41d8cd98f00b204e9800998ecf8427e';

/** What the integration tests need from chain/devnet/devnet.ts (built by another helper). */
export interface DevnetLike {
  start(): Promise<string>;
  close(): Promise<void>;
}
export interface DevnetModule {
  Devnet: new (opts: { port: number; dataDir?: string }) => DevnetLike;
}

export const DEVNET_PATH = fileURLToPath(new URL('../../chain/devnet/devnet.ts', import.meta.url));

/**
 * Loads the in-process devnet, or returns the reason it cannot be used yet (the test then skips
 * loudly, and fails under CI=true via requireHost).
 */
export async function loadDevnet(): Promise<DevnetModule | string> {
  if (!existsSync(DEVNET_PATH)) return `chain/devnet/devnet.ts is absent (the devnet helper has not landed it yet)`;
  try {
    const mod = (await import(DEVNET_PATH)) as Partial<DevnetModule>;
    if (typeof mod.Devnet !== 'function') return 'chain/devnet/devnet.ts does not export a Devnet class';
    return mod as DevnetModule;
  } catch (err) {
    return `chain/devnet/devnet.ts fails to load: ${(err as Error).message}`;
  }
}

/** 1 TFT in chain units. */
export const TFT = 10_000_000n;
