import { sizedDiskModel, type Sized } from './disk.ts';

export type Volume = Sized;

/** A btrfs subvolume with a quota (SRU); result `{"id": wlid}`. Resizes, not below used. */
export const volume = sizedDiskModel('volume');

export interface VolumeResult {
  id: string;
}
