/** The chain client's public surface: import from here. */
export { ChainClient, connectChain, type AccountClient, type BoundQueries, type Connection, type ConnectChainOptions } from './connection.ts';
export { ChainError, ChainErrorCode, isChainError, mapDispatchError, mapRpcError } from './errors.ts';
export { keyPairFromSecret, ss58Address, SS58_FORMAT, type KeyType, type KeyringPair } from './keys.ts';
export { Submitter, send, submitCall, type TxContext, type TxEvent, type TxResult } from './submit.ts';
export { Call, toHex, fromHex } from './scale.ts';
export type { ChainSigner } from './extrinsic.ts';
export type { Runtime } from './runtime.ts';
export type { RpcConnection } from './rpc.ts';
export * as queries from './queries.ts';
export { relayHostList, nodeMatches, ZOS_TERMS, type Ensured, type NodeSpec, type TwinSpec } from './registration.ts';
export { build, canceledFromEvents, contractsFromEvents, type NodeContractInput } from './contracts.ts';
export { decodeNodeEvent, EventStream, followBlocks, type BlockEvents, type BlockSource, type NodeEvent, type NodeEventKind } from './events.ts';
export { RpcBlockSource } from './block-source.ts';
export type * from './types.ts';
