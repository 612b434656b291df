import { chmod, mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeFileDurably } from '../lib/durable.ts';
import { createIdentity, type Identity } from '../relay-client/identity.ts';

export type { Identity };

const SEED_FILE = 'seed.txt';

/**
 * The node's identity: an ed25519 seed created on first start and kept in the data dir
 * (mode 0600). Its SS58 account is the node's chain account; the relay peer uses the same
 * seed, and the raw seed doubles as the secp256k1 e2e key (as zos does with a hex seed).
 */
export async function loadOrCreateIdentity(dataDir: string, override?: { seed?: string; mnemonic?: string }): Promise<Identity> {
  if (override?.mnemonic) return createIdentity(override.mnemonic, 'ed25519');
  if (override?.seed) return createIdentity(normalizeSeed(override.seed), 'ed25519');
  const dir = join(dataDir, 'identity');
  const file = join(dir, SEED_FILE);
  let seed: string;
  try {
    seed = normalizeSeed((await readFile(file, 'utf8')).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    seed = `0x${randomBytes(32).toString('hex')}`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // durably: an empty seed file after a power cut would lose the node's identity for good
    await writeFileDurably(file, `${seed}\n`, 0o600);
  }
  await chmod(file, 0o600);
  return createIdentity(seed, 'ed25519');
}

function normalizeSeed(seed: string): string {
  const s = seed.startsWith('0x') ? seed : `0x${seed}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(s)) throw new Error('node seed must be 32 bytes of hex');
  return s.toLowerCase();
}
