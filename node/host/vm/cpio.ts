/**
 * A newc ("070701") cpio archive writer: the format the Linux kernel unpacks as an initramfs.
 * Pure: entries in, bytes out. Only what an initramfs needs: directories, files, symlinks.
 */
export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function record(ino: number, mode: number, name: string, body: Uint8Array): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const fields = [ino, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, body.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  return [header, nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length)), Buffer.from(body), Buffer.alloc(pad4(body.length))];
}

/** Encode entries in order (parents before children) followed by the TRAILER!!! record. */
export function encodeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') parts.push(...record(ino++, S_IFDIR | (e.mode ?? 0o755), path, new Uint8Array()));
    else if (e.type === 'file') parts.push(...record(ino++, S_IFREG | (e.mode ?? 0o644), path, e.data));
    else parts.push(...record(ino++, S_IFLNK | 0o777, path, Buffer.from(e.target, 'utf8')));
  }
  parts.push(...record(0, 0, 'TRAILER!!!', new Uint8Array()));
  return Buffer.concat(parts);
}
