import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { GenesisConfig } from './pallets/index.ts';

/** The --dev accounts: funded at genesis like tfchain's chain_spec. */
export const DEV_URIS = ['//Alice', '//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie', '//Alice//stash', '//Bob//stash'] as const;
export const DEV_BALANCE = 1n << 60n;

export interface DevAccount {
  uri: string;
  /** SS58 (prefix 42) address. */
  address: string;
  /** 0x-hex AccountId32. */
  id: string;
}

/** The sr25519 dev accounts (needs the crypto wasm: call after cryptoWaitReady). */
export function devAccounts(): DevAccount[] {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  return DEV_URIS.map((uri) => {
    const pair = keyring.addFromUri(uri);
    return { uri, address: pair.address, id: u8aToHex(pair.publicKey) };
  });
}

export interface DevGenesisOptions {
  /** Extra [AccountId32 hex, balance] endowments. */
  endowed?: Array<[string, bigint]>;
  tfgrid?: GenesisConfig['tfgrid'];
  smartContract?: GenesisConfig['smartContract'];
}

/** Genesis of `tfchain --dev`: dev accounts with 2^60 each, pallet genesis at the pallets' defaults. */
export async function devGenesis(opts: DevGenesisOptions = {}): Promise<GenesisConfig> {
  await cryptoWaitReady();
  return {
    balances: { endowed: [...devAccounts().map((a) => [a.id, DEV_BALANCE] as [string, bigint]), ...(opts.endowed ?? [])] },
    tfgrid: opts.tfgrid,
    smartContract: opts.smartContract,
  };
}
