import { StorageError } from '../../host/storage/errors.ts';
import { storageName } from '../../host/storage/names.ts';
import type { OpOptions } from '../../host/storage/types.ts';
import type { Sized } from '../../model/disk.ts';
import { NoActionNeeded, type Primitive, type PrimitiveContext } from '../types.ts';

/** The host object behind a sized storage workload (a subvolume or a vdisk). */
export interface SizedObjectStore {
  /** Current size in bytes, or undefined when it does not exist. */
  size(name: string, opts: OpOptions): Promise<number | undefined>;
  create(name: string, size: number, opts: OpOptions): Promise<unknown>;
  /** Called only with a size different from the current one; enforces its own limits. */
  resize(name: string, from: number, to: number, opts: OpOptions): Promise<unknown>;
  /** A missing object is not an error. */
  remove(name: string, opts: OpOptions): Promise<void>;
}

/**
 * Shared shape of volume and zmount (both `{size}` workloads named after the workload id):
 * provision is idempotent (same size: NoActionNeeded; other size: the update rules apply),
 * update changes the size, deprovision removes. The store's create undoes its own partial work.
 */
export function sizedPrimitive<Result>(
  type: 'zmount' | 'volume',
  store: SizedObjectStore,
  result: (ctx: PrimitiveContext) => Result,
): Primitive<Sized, Result> {
  const opts = (ctx: PrimitiveContext): OpOptions => ({ signal: ctx.signal, log: ctx.log });

  async function change(ctx: PrimitiveContext, name: string, from: number, to: number): Promise<Result> {
    if (to !== from) {
      await store.resize(name, from, to, opts(ctx));
      ctx.log.info({ from, to }, `${type} resized`);
    }
    return result(ctx);
  }

  return {
    async provision(ctx, config) {
      const name = storageName(ctx.workload.id);
      const current = await store.size(name, opts(ctx));
      if (current !== undefined) {
        if (current === config.size) throw new NoActionNeeded(result(ctx));
        return change(ctx, name, current, config.size);
      }
      await store.create(name, config.size, opts(ctx));
      ctx.log.info({ size: config.size }, `${type} created`);
      return result(ctx);
    },

    async update(ctx, config) {
      const name = storageName(ctx.workload.id);
      const current = await store.size(name, opts(ctx));
      if (current === undefined) throw new StorageError('NOT_FOUND', `${type} ${ctx.workload.name} does not exist`);
      return change(ctx, name, current, config.size);
    },

    async deprovision(ctx) {
      await store.remove(storageName(ctx.workload.id), opts(ctx));
      ctx.log.info(`${type} removed`);
    },
  };
}
