import { resolve } from 'node:path';
import { DirStore } from './dir-store.ts';
import { HttpStore } from './http-store.ts';
import type { ImageStore } from './types.ts';

/** A store from a CLI-style location: http(s)://… is a read-only HttpStore, anything else a directory. */
export async function openStoreAt(location: string, opts: { create?: boolean } = {}): Promise<ImageStore> {
  if (/^https?:\/\//i.test(location)) return new HttpStore(location);
  const path = location.startsWith('file://') ? new URL(location).pathname : location;
  return DirStore.open(resolve(path), opts);
}
