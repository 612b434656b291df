import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ImageError } from './errors.ts';

/**
 * The base image recipe (`zos image base`): a small root from Debian packages with an SSH server
 * (dropbear) and busybox. With no entrypoint the VM runs its /sbin/init (busybox init, which
 * respawns dropbear); `/sbin/zos-sshd` starts dropbear for deployments that set their own
 * entrypoint. Packages come from apt's cache, else `apt-get download` into `debDir`.
 */
export const BASE_PACKAGES = ['busybox-static', 'dropbear-bin', 'libc6', 'libgcc-s1', 'libcrypt1', 'libtomcrypt1', 'libtommath1', 'libgmp10', 'zlib1g'];
export const DEFAULT_DEB_DIR = '/var/cache/zos/base-debs';

const FILES: Record<string, [string, number]> = {
  'etc/passwd': ['root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n', 0o644],
  'etc/group': ['root:x:0:\n', 0o644],
  // '*': no password login; not '!' (dropbear refuses locked accounts, even for keys).
  'etc/shadow': ['root:*:19000:0:99999:7:::\n', 0o600],
  'etc/shells': ['/bin/sh\n', 0o644],
  'etc/hostname': ['zos\n', 0o644],
  'etc/inittab': [
    '::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/dropbear -F -R -E -p 22\n::shutdown:/bin/umount -a -r\n',
    0o644,
  ],
  'etc/init.d/rcS': [
    '#!/bin/sh\n# Mounts the base image needs; the zos guest init has mounted /dev.\n' +
      'mount -t proc proc /proc 2>/dev/null\nmount -t sysfs sys /sys 2>/dev/null\n' +
      'mkdir -p /dev/pts /run /tmp /etc/dropbear\nmount -t devpts devpts /dev/pts 2>/dev/null\nmount -t tmpfs tmpfs /run\n',
    0o755,
  ],
  'sbin/zos-sshd': ['#!/bin/sh\n# dropbear in the background, for entrypoints that want SSH too.\n/etc/init.d/rcS\nexec /usr/sbin/dropbear -R -E -p 22 "$@"\n', 0o755],
};

async function findDeb(pkg: string, debDir: string): Promise<string | undefined> {
  for (const dir of [debDir, '/var/cache/apt/archives']) {
    const hit = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('_amd64.deb')).sort().pop();
    if (hit) return join(dir, hit);
  }
  return undefined;
}

/** Build the base root in `root` (which must be empty or missing). */
export async function buildBaseRoot(root: string, opts: { debDir?: string } = {}): Promise<{ packages: string[] }> {
  const debDir = opts.debDir ?? DEFAULT_DEB_DIR;
  await mkdir(root, { recursive: true });
  const debs: string[] = [];
  for (const pkg of BASE_PACKAGES) {
    let deb = await findDeb(pkg, debDir);
    if (!deb) {
      await mkdir(debDir, { recursive: true, mode: 0o755 });
      const r = await execa('apt-get', ['download', '-qq', pkg], { cwd: debDir, reject: false });
      deb = await findDeb(pkg, debDir);
      if (!deb) throw new ImageError('HOST', `cannot get the Debian package ${pkg}: ${r.stderr.trim() || 'apt-get download found nothing'}`);
    }
    debs.push(deb);
    const x = await execa('dpkg-deb', ['-x', deb, root], { reject: false });
    if (x.exitCode !== 0) throw new ImageError('HOST', `dpkg-deb -x ${deb}: ${x.stderr.trim()}`);
  }
  // Docs, man pages, locales and charset converters: nothing in the image uses them.
  for (const d of ['usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/lintian', 'usr/lib/x86_64-linux-gnu/gconv']) {
    await rm(join(root, d), { recursive: true, force: true });
  }
  for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'root', 'etc/init.d', 'etc/dropbear', 'sbin']) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
  for (const [path, [text, mode]] of Object.entries(FILES)) {
    await writeFile(join(root, path), text);
    await chmod(join(root, path), mode);
  }
  // busybox applets as symlinks in /bin (Debian's busybox-static ships only the binary).
  const applets = (await execa(join(root, 'bin/busybox'), ['--list'])).stdout.split('\n').filter(Boolean);
  const present = new Set([...(await readdir(join(root, 'bin'))), ...(await readdir(join(root, 'sbin')).catch(() => []))]);
  for (const a of applets) if (!present.has(a)) await symlink('busybox', join(root, 'bin', a));
  await symlink('../bin/busybox', join(root, 'sbin/init')).catch(() => undefined);
  return { packages: debs.map((d) => d.split('/').pop()!) };
}
