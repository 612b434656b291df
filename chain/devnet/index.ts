export { Devnet, DEVNET_VERSION, type DevnetOptions } from './devnet.ts';
export { devAccounts, devGenesis, DEV_BALANCE, DEV_URIS, type DevAccount, type DevGenesisOptions } from './genesis.ts';
export { Executive, type ExecutiveOptions, type NewBlock, type BlockSink } from './executive/executive.ts';
export type { BlockRecord, HeaderJson } from './executive/chain-store.ts';
export { TxPoolError, INVALID_TX, UNKNOWN_TX, POOL_CODES } from './executive/errors.ts';
export type { TxStatus } from './executive/pool.ts';
export { FAUCET_AMOUNT, MAX_PAYLOAD } from './rpc/index.ts';
export { SYSTEM_PROPERTIES } from './rpc/methods/system.ts';
export { RUNTIME_VERSION } from './rpc/runtime-api.ts';
