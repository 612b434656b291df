import { sizedDiskModel, type Sized } from './disk.ts';

export type ZMount = Sized;

/** A raw virtual disk (SRU); result `{"volume_id": wlid}`. Grows only, not while mounted. */
export const zmount = sizedDiskModel('zmount');

export interface ZMountResult {
  volume_id: string;
}
