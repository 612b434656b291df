import { ImageError } from './errors.ts';
import { parseRef, type ImageRef } from './ref.ts';
import type { ImageStore } from './store/types.ts';

/** Turn a reference into a manifest digest using the store's tags when no digest is given. */
export async function resolveRef(store: ImageStore, ref: string | ImageRef): Promise<{ name?: string; digest: string }> {
  const r = typeof ref === 'string' ? parseRef(ref) : ref;
  if (r.digest) return { ...(r.name ? { name: r.name } : {}), digest: r.digest };
  const digest = await store.getTag(r.name!);
  if (!digest) throw new ImageError('NOT_FOUND', `no image tagged "${r.name}" in store ${store.location}`);
  return { name: r.name!, digest };
}

/** Run fn over items with at most `limit` in flight; the first error stops new work and is thrown. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
