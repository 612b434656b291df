/**
 * The "newc" cpio format the Linux initramfs unpacker reads (pure codec, no I/O).
 * Each member is a 110-byte ASCII header, the NUL-terminated name padded to 4 bytes, then the
 * data padded to 4 bytes; the archive ends with a member named TRAILER!!!. Archives may be
 * concatenated: the kernel unpacks them in order and a later member replaces an earlier one.
 */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export interface CpioMember {
  /** Relative path without a leading "/" ("." is the root). */
  name: string;
  /** File type and permission bits (st_mode). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (the format has no sub-second part). */
  mtime: number;
  /** Data length: file size, or the symlink target's byte length. */
  size: number;
  rdevMajor?: number;
  rdevMinor?: number;
}

const MAX_U32 = 0xffffffff;
const hex8 = (n: number, field: string): string => {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U32) throw new RangeError(`cpio: ${field} ${n} does not fit in 32 bits`);
  return n.toString(16).padStart(8, '0');
};

export const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Header + name + padding for one member; `ino` must be unique per archive (hard links are not used). */
export function cpioHeader(m: CpioMember, ino: number): Buffer {
  const name = Buffer.from(`${m.name}\0`, 'utf8');
  const fields = [
    ino, m.mode, m.uid, m.gid, 1, m.mtime, m.size, 0, 0, m.rdevMajor ?? 0, m.rdevMinor ?? 0, name.length, 0,
  ];
  const names = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'size', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'namesize', 'check'];
  const head = `070701${fields.map((f, i) => hex8(f, names[i]!)).join('')}`;
  return Buffer.concat([Buffer.from(head, 'ascii'), name, Buffer.alloc(pad4(head.length + name.length))]);
}

/** The end-of-archive member. */
export function cpioTrailer(): Buffer {
  return cpioHeader({ name: 'TRAILER!!!', mode: 0, uid: 0, gid: 0, mtime: 0, size: 0 }, 0);
}

/** One whole member with in-memory data (directories, symlinks, device nodes, small files). */
export function cpioMember(m: Omit<CpioMember, 'size'>, data: Uint8Array = new Uint8Array(0), ino: number): Buffer {
  return Buffer.concat([cpioHeader({ ...m, size: data.length }, ino), data, Buffer.alloc(pad4(data.length))]);
}

/** Parsed members of an archive (for tests and inspection); stops at the trailer. */
export function parseCpio(buf: Uint8Array): Array<CpioMember & { data: Buffer }> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Array<CpioMember & { data: Buffer }> = [];
  let off = 0;
  while (off + 110 <= b.length) {
    const head = b.toString('ascii', off, off + 110);
    if (!head.startsWith('070701')) throw new Error(`cpio: bad magic at offset ${off}`);
    const f = (i: number) => Number.parseInt(head.slice(6 + i * 8, 14 + i * 8), 16);
    const namesize = f(11);
    const size = f(6);
    const nameEnd = off + 110 + namesize;
    const name = b.toString('utf8', off + 110, nameEnd - 1);
    const dataOff = nameEnd + pad4(110 + namesize);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode: f(1), uid: f(2), gid: f(3), mtime: f(5), size, rdevMajor: f(9), rdevMinor: f(10), data: b.subarray(dataOff, dataOff + size) });
    off = dataOff + size + pad4(size);
  }
  throw new Error('cpio: no trailer');
}
