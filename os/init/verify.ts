import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyTree } from '../../image/cache-verify.ts';
import { initHash } from '../../image/hash.ts';
import { decodeManifest, manifestDigest } from '../../image/manifest.ts';
import { MOUNT_POINTS, ROOT_MANIFEST_PATH } from '../layout.ts';

/**
 * Verified boot: the root manifest must have the digest the kernel command line names, and
 * every path of the running root must match it (type, mode, owner, size, mtime, BLAKE3 of every
 * file, symlink targets), with nothing missing and nothing added outside the mount points.
 * Runs before anything else: no program has been started and nothing is mounted yet.
 */
export class BootRefused extends Error {
  override readonly name = 'BootRefused';
}

export async function verifyRoot(digest: string, root = '/'): Promise<{ files: number; bytes: number }> {
  await initHash();
  const bytes = await readFile(join(root, ROOT_MANIFEST_PATH)).catch((err: Error) => {
    throw new BootRefused(`no root manifest at /${ROOT_MANIFEST_PATH}: ${err.message}`);
  });
  const got = manifestDigest(bytes);
  if (got !== digest) throw new BootRefused(`the root manifest is blake3:${got}, the kernel command line requires blake3:${digest}`);
  const m = decodeManifest(bytes);
  try {
    const r = await verifyTree(root, null, digest, m, { withOwners: true, mountPoints: new Set(MOUNT_POINTS) });
    return { files: r.rehashed, bytes: r.rehashedBytes };
  } catch (err) {
    // "<path> in / was modified ..." without the cache-rebuild hint, which is about workload images.
    throw new BootRefused((err as Error).message.replace(/; refusing to use it.*$/, ''));
  }
}
