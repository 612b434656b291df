import { existsSync, readFileSync } from 'node:fs';
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
