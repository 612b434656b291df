import { ImageError } from './errors.ts';

/** Image references (SPEC.md §6): `name@blake3:<hex>`, `blake3:<hex>` or a bare tag `name`. Pure. */
export interface ImageRef {
  name?: string;
  digest?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const DIGEST = /^blake3:([0-9a-f]{64})$/;

export function isValidName(name: string): boolean {
  return NAME.test(name) && !name.split('/').some((p) => p === '' || p === '.' || p === '..');
}

export function parseRef(s: string): ImageRef {
  const at = s.lastIndexOf('@');
  const namePart = at >= 0 ? s.slice(0, at) : DIGEST.test(s) ? '' : s;
  const digestPart = at >= 0 ? s.slice(at + 1) : DIGEST.test(s) ? s : undefined;
  const ref: ImageRef = {};
  if (namePart !== '') {
    if (!isValidName(namePart)) throw new ImageError('BAD_REF', `bad image name "${namePart}" in "${s}": use [A-Za-z0-9._:/-], up to 128 characters`);
    ref.name = namePart;
  }
  if (digestPart !== undefined) {
    const m = DIGEST.exec(digestPart);
    if (!m) throw new ImageError('BAD_REF', `bad digest in "${s}": expected blake3:<64 lowercase hex>`);
    ref.digest = m[1];
  }
  if (!ref.name && !ref.digest) throw new ImageError('BAD_REF', `empty image reference "${s}"`);
  return ref;
}

export function formatRef(name: string | undefined, digest: string): string {
  return `${name ?? ''}${name ? '@' : ''}blake3:${digest}`;
}
