/**
 * The release reference the OS follows: tfchain's `TfgridModule.ZosVersion`, which the council
 * sets for the whole grid (set_zos_version). For this OS its text is JSON naming the release
 * label and the BLAKE3 digest of the release's root image:
 *
 *   {"version":"2.1.0","digest":"blake3:<64 hex>"}
 *
 * The digest is what makes the reference safe to follow: the node pulls that exact image from
 * its hub and refuses anything else. Any other text (Go zos releases such as "v3.10.0") names no
 * image of this OS and is ignored. Pure: no I/O, init bundles it.
 */
export interface ReleaseRef {
  version: string;
  /** Hex BLAKE3 of the root manifest (the kernel command line's zos_root). */
  digest: string;
}

export class ReleaseRefError extends Error {
  override readonly name = 'ReleaseRefError';
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export function parseReleaseRef(text: string): ReleaseRef {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ReleaseRefError(`"${text.slice(0, 80)}" is not a release reference of this OS ({"version","digest"} JSON)`);
  }
  const o = (v ?? {}) as { version?: unknown; digest?: unknown };
  if (typeof o.version !== 'string' || !LABEL.test(o.version)) throw new ReleaseRefError(`release reference: "version" must be a label of [A-Za-z0-9._+-], up to 64 characters`);
  const m = typeof o.digest === 'string' ? /^blake3:([0-9a-f]{64})$/.exec(o.digest) : null;
  if (!m) throw new ReleaseRefError('release reference: "digest" must be blake3:<64 lowercase hex>');
  return { version: o.version, digest: m[1]! };
}

export function formatReleaseRef(r: ReleaseRef): string {
  return JSON.stringify({ version: r.version, digest: `blake3:${r.digest}` });
}
