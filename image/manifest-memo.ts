import { decodeManifest, type Manifest } from './manifest.ts';

/**
 * Manifests decoded in this process, by digest, held weakly: a node pulls an image and then
 * materializes it at once (node/primitives/zmachine/flist.ts), and materialize's decode of the same
 * bytes (~10 ms of the main thread for 500 files, while the file workers wait; ~90 ms the first
 * time, before the validator is compiled) is skipped. A digest names its bytes (BLAKE3, checked by
 * every store's getManifest), so a manifest decoded once is the manifest of that digest. Each is
 * frozen, so no caller can change what another will be given.
 */
const decoded = new Map<string, WeakRef<Manifest>>();

/** The manifest `digest` names: the one a pull decoded if it is still in memory, else `bytes()` decoded. */
export async function manifestOf(digest: string, bytes: () => Promise<Uint8Array>): Promise<Manifest> {
  return decoded.get(digest)?.deref() ?? decodeManifest(await bytes());
}

/** Decodes a manifest whose bytes were checked against `digest` (a pull's), and keeps it for manifestOf. */
export function decodeManifestOf(digest: string, bytes: Uint8Array): Manifest {
  return remember(digest, decodeManifest(bytes));
}

function remember(digest: string, m: Manifest): Manifest {
  deepFreeze(m);
  for (const [d, ref] of decoded) if (!ref.deref()) decoded.delete(d);
  decoded.set(digest, new WeakRef(m));
  return m;
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}
