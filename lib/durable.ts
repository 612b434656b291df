import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a small file so that after a power cut it is whole or absent, never empty: data to a temp
 * file, fsync, rename into place, fsync the directory. (A rename alone is not enough: on a fresh
 * file the rename can reach the disk before the data, as the OS reboot test found on btrfs.)
 */
export async function writeFileDurably(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
