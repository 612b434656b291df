import assert from 'node:assert/strict';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * A comparable description of every path in a tree (inode identity expressed as link groups).
 * mtimes are kept apart: Node's utimes() takes a double and libuv truncates it to whole
 * microseconds, so a restore can be off by up to 1 µs plus the double's rounding (~250 ns):
 * the same 2 µs slack the image cache check allows.
 */
export async function describeTree(root: string, opts: { xattrs: boolean; owners: boolean }): Promise<{ desc: Record<string, string>; mtimes: Record<string, bigint> }> {
  const out: Record<string, string> = {};
  const mtimes: Record<string, bigint> = {};
  const firstByIno = new Map<bigint, string>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '.' ? root : join(root, rel);
    const st = await lstat(abs, { bigint: true });
    const parts = [`mode=${(st.mode & 0o170777n).toString(8)}`];
    if (opts.owners) parts.push(`owner=${st.uid}:${st.gid}`);
    mtimes[rel] = st.mtimeNs;
    if (st.isFile()) {
      const first = firstByIno.get(st.ino);
      if (first) parts.push(`link=${first}`);
      else firstByIno.set(st.ino, rel);
      parts.push(`size=${st.size}`, `sha256=${createHash('sha256').update(await readFile(abs)).digest('hex')}`);
    }
    if (st.isSymbolicLink()) parts.push(`target=${await readlink(abs)}`);
    if (st.isCharacterDevice() || st.isBlockDevice()) parts.push(`rdev=${st.rdev}`);
    out[rel] = parts.join(' ');
    if (st.isDirectory()) for (const n of (await readdir(abs)).sort()) await walk(rel === '.' ? n : `${rel}/${n}`);
  };
  await walk('.');
  if (opts.xattrs) {
    const r = await execa('getfattr', ['-h', '-R', '-P', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: root });
    out['#xattrs'] = r.stdout;
  }
  return { desc: out, mtimes };
}

export async function assertSameTree(actual: string, expected: string, opts: { xattrs: boolean; owners: boolean }): Promise<void> {
  const a = await describeTree(actual, opts);
  const e = await describeTree(expected, opts);
  assert.deepEqual(a.desc, e.desc);
  for (const [p, ns] of Object.entries(e.mtimes)) {
    const d = a.mtimes[p]! - ns;
    assert.ok(d <= 2000n && d >= -2000n, `mtime of ${p} differs by ${d} ns`);
  }
}
