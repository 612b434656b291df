import type { ImageNode } from '../../../image/index.ts';
import type { Logger } from '../../../lib/log.ts';

/** The image services whose cache was collected at this node's start (zmachine and zmachine-light share one). */
const collectedAtStart = new WeakSet<object>();

/**
 * The materialize cache's garbage collection (image/cache-gc.ts) for the machine primitives: at
 * the node's start (once, by the first machine type that has stored VMs: a node without VMs never
 * loads the image code) and after a VM's root is removed. Both run inside the engine (its
 * start-up init, then its one job loop), so no materialize of this node runs meanwhile. A failure
 * is logged and never fails the workload's step.
 */
export async function collectImageCache(images: () => Promise<ImageNode>, log: Logger, when: 'start' | 'vm removed'): Promise<void> {
  if (when === 'start') {
    if (collectedAtStart.has(images)) return;
    collectedAtStart.add(images);
  }
  try {
    const [{ gcImageCache }, node] = await Promise.all([import('../../../image/cache-gc.ts'), images()]);
    const r = await gcImageCache(node.cache.dir);
    if (r.removedObjects + r.movedObjects + r.removedFanouts + r.removedStaging > 0) log.info({ ...r, when }, 'image cache collected');
  } catch (err) {
    log.warn({ err: (err as Error).message, when }, 'image cache gc failed');
  }
}
