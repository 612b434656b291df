import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { fileSize } from './procs.ts';

/**
 * A VM's console log: QEMU appends the serial console to it (the file outlives the node), the
 * host reads its tail for error messages and rotates it when it grows too big.
 */
export async function readFrom(path: string, offset: number, max = 1 << 20): Promise<string> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return '';
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, offset);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** The last `bytes` of the log as whole lines (zos puts the last 2 KiB in a start error). */
export async function tail(path: string, bytes = 2048): Promise<string> {
  const size = await fileSize(path);
  const text = await readFrom(path, Math.max(0, size - bytes), bytes);
  const lines = text.split(/\r?\n/);
  if (size > bytes) lines.shift();
  return lines.map((l) => l.trimEnd()).filter(Boolean).join('\n');
}

/** Keep the log under `maxBytes`: when over, keep only its last `keepBytes` (zos: 8 MiB / 4 MiB). */
export async function rotate(path: string, maxBytes = 8 << 20, keepBytes = 4 << 20): Promise<boolean> {
  const size = await fileSize(path);
  if (size <= maxBytes) return false;
  const keep = await readFile(path).then((b) => b.subarray(b.length - keepBytes));
  // QEMU holds the file with O_APPEND, so after the truncate its next write lands at the new end.
  await truncate(path, 0);
  await writeFile(path, keep, { flag: 'a' });
  return true;
}
