import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { connectChain, type ChainClient } from '../../chain/client/connection.ts';
import { Call } from '../../chain/client/scale.ts';
import { silentLogger } from '../../lib/log.ts';
import type { BlockEvents, EventStream, NodeEvent } from '../../chain/client/events.ts';
import { keyPairFromSecret, type KeyringPair } from '../../chain/client/keys.ts';
import { keyPairFromSeed } from './helpers/keys.ts';
import type { NodeSpec } from '../../chain/client/registration.ts';
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
  Devnet: new (opts: { port: number; dataDir?: string; dev?: boolean }) => DevnetLike;
}

export const DEVNET_PATH = fileURLToPath(new URL('../../chain/devnet/devnet.ts', import.meta.url));

/**
 * Loads the in-process devnet. A devnet that fails to load is a failure of the code under
 * test, never a missing host feature: it throws (the test fails) rather than skipping.
 */
export async function loadDevnet(): Promise<DevnetModule> {
  return (await import(DEVNET_PATH)) as DevnetModule;
}

/** 1 TFT in chain units. */
export const TFT = 10_000_000n;

/**
 * A funded ed25519 node account (zos signs with ed25519) with T&C, twin, a farm and a node,
 * registered through our client; //Alice pays for it.
 */
export async function registerNode(c: ChainClient, farmName: string, cru = 4): Promise<{ nodeKey: KeyringPair; farmId: number; nodeId: number }> {
  const alice = await keyPairFromSecret('//Alice');
  const nodeKey = await keyPairFromSeed(new Uint8Array(randomBytes(32)), 'ed25519');
  await c.as(alice).submit(new Call('balances', 'transferKeepAlive', [nodeKey.address, 1000n * TFT]));
  const node = c.as(nodeKey);
  await node.ensureTermsAccepted();
  await node.ensureTwin({ relay: ['wss://relay.dev.grid.tf'], pk: null });
  const { farmId } = await node.ensureFarm(farmName);
  const { nodeId } = await node.ensureNode(nodeSpec(farmId, cru));
  return { nodeKey, farmId, nodeId };
}

export const nodeSpec = (farmId: number, cru = 4): NodeSpec => ({
  farmId,
  resources: { hru: 0, sru: 200 * 2 ** 30, cru, mru: 8 * 2 ** 30 },
  location: { city: 'Ghent', country: 'Belgium', latitude: '51.05', longitude: '3.71' },
  interfaces: [{ name: 'zos', mac: '52:54:00:12:34:56', ips: ['10.10.0.2'] }],
  secureBoot: false,
  virtualized: true,
  serialNumber: null,
});

/** Collects stream blocks until `until` matches an event; closes the stream and fails after `ms`. */
export async function collectUntil(stream: EventStream, until: (e: NodeEvent) => boolean, ms = 15_000): Promise<BlockEvents[]> {
  const got: BlockEvents[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stream.close();
  }, ms);
  try {
    for await (const b of stream) {
      got.push(b);
      if (b.events.some(until)) return got;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`${timedOut ? 'timed out' : 'stream ended'} before the event; got blocks ${got.map((b) => b.blockNumber).join(',')}`);
}

export interface ChainEnv {
  devnet: DevnetLike;
  url: string;
  client: ChainClient;
  /** Closes the client, then the devnet. */
  close(): Promise<void>;
}

/** A fresh in-process devnet with our client connected; throws (fails the test) when it cannot start. */
export async function startChain(): Promise<ChainEnv> {
  const mod = await loadDevnet();
  const devnet = new mod.Devnet({ port: 0, dev: true });
  const url = await devnet.start();
  const client = connectChain({ urls: [url], logger: silentLogger() });
  const close = async () => {
    await client.close();
    await devnet.close();
  };
  await client.start();
  return { devnet, url, client, close };
}

/** The official client logs every event; keep test output readable. */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
  }
}
