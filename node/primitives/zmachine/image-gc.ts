import type { ImageNode } from '../../../image/index.ts';
import type { IdleContext } from '../types.ts';

/** The image services a machine of this process opened (zmachine and zmachine-light share one). */
const opened = new WeakSet<object>();
/** The idle period each image service was last collected in. */
const collectedIn = new WeakMap<object, number>();

/** Notes that a machine used the image service `images` (its cache is then worth collecting). */
export function imagesUsed(images: () => Promise<ImageNode>): void {
  opened.add(images);
}

/**
 * The materialize cache's garbage collection (image/cache-gc.ts) for the machine primitives, in
 * the engine's idle time: once per idle period for both machine types (no job, hence no
 * materialize, runs meanwhile; a job that arrives stops it before its next tree). Records of
 * workloads the node no longer holds go first (a removal a crash cut short); the trees of images
 * no record names go, then what only they linked. A machine without a record (started by a
 * version that wrote none, or its record lost) gets one from its overlay root's lower tree; while
 * one still has none (a full VM, a reflink root), no tree is removed: which image it runs on is
 * not known. Runs only where machines exist or one was used since the start (a node without VMs
 * never loads the image code). A failure is logged.
 */
export async function collectImageCache<C, R>(images: () => Promise<ImageNode>, ictx: IdleContext<C, R>): Promise<void> {
  const machines = [...ictx.holding].filter(([, type]) => type === 'zmachine' || type === 'zmachine-light').map(([id]) => id);
  if ((machines.length === 0 && !opened.has(images)) || collectedIn.get(images) === ictx.period) return;
  collectedIn.set(images, ictx.period);
  try {
    const [{ gcImageCache }, node] = await Promise.all([import('../../../image/cache-gc.ts'), images()]);
    const uses = node.cache.uses.all();
    for (const user of uses.keys()) {
      if (ictx.holding.has(user)) continue;
      node.cache.uses.delete(user);
      uses.delete(user);
    }
    for (const id of machines) {
      if (uses.has(id)) continue;
      const digest = await node.rootImage(id).catch(() => undefined);
      if (digest === undefined) continue;
      node.cache.uses.set(id, digest); // started by a version that wrote no record: its overlay names the tree
      uses.set(id, digest);
    }
    const unrecorded = machines.filter((id) => !uses.has(id));
    if (unrecorded.length > 0) ictx.log.info({ machines: unrecorded.length }, 'image trees kept: machines without a record of their image');
    const r = await gcImageCache(node.cache.dir, { ...(unrecorded.length === 0 ? { keep: new Set(uses.values()) } : {}), stop: ictx.busy });
    if (r.removedTrees + r.removedObjects + r.movedObjects + r.removedFanouts + r.removedStaging + r.removedPacks > 0) ictx.log.info({ ...r }, 'image cache collected');
  } catch (err) {
    ictx.log.warn({ err: (err as Error).message }, 'image cache gc failed');
  }
}
