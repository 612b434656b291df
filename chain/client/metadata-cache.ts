import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileDurably } from '../../lib/durable.ts';
import type { Logger } from '../../lib/log.ts';
import type { RpcConnection } from './rpc.ts';
import { Runtime } from './runtime.ts';
import { fromHex } from './scale.ts';
import type { HexString } from './types.ts';

/**
 * The runtime of a connection, from its metadata: decoded once per process and kept on disk
 * per (genesis hash, spec version), so a CLI start against an unchanged chain asks only for the
 * runtime version and the genesis hash instead of ~170 kB of metadata.
 */

/** The CLI's metadata cache: ~/.cache/zos/chain-metadata (XDG_CACHE_HOME respected). */
export function userMetadataDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'zos', 'chain-metadata');
}

export interface ChainInfo {
  genesisHash: HexString;
  specVersion: number;
  transactionVersion: number;
}

export interface RuntimeCache {
  /** null: memory only. */
  dir: string | null;
  loaded: Map<string, Runtime>;
}

export async function loadRuntime(rpc: RpcConnection, cache: RuntimeCache, log: Logger): Promise<{ runtime: Runtime; chain: ChainInfo }> {
  const [version, genesisHash] = await Promise.all([
    rpc.request<{ specVersion: number; transactionVersion: number }>('state_getRuntimeVersion'),
    rpc.request<HexString>('chain_getBlockHash', [0]),
  ]);
  const chain: ChainInfo = { genesisHash, specVersion: version.specVersion, transactionVersion: version.transactionVersion };
  const key = `${genesisHash.slice(2, 18)}-${chain.specVersion}`;
  let runtime = cache.loaded.get(key);
  if (!runtime) {
    const file = cache.dir === null ? null : join(cache.dir, `${key}.scale`);
    const stored = file ? await readFile(file).catch(() => null) : null;
    if (stored) {
      try {
        runtime = new Runtime(new Uint8Array(stored));
      } catch (err) {
        log.warn({ file, err: (err as Error).message }, 'cached chain metadata unreadable: fetching it again');
      }
    }
    if (!runtime) {
      const metadata = fromHex(await rpc.request<string>('state_getMetadata'));
      runtime = new Runtime(metadata);
      if (file) await store(file, metadata).catch((err: Error) => log.warn({ file, err: err.message }, 'cannot cache the chain metadata'));
    }
    cache.loaded.set(key, runtime);
  }
  return { runtime, chain };
}

async function store(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFileDurably(file, bytes);
}
