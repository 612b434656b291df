import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { buildBaseRoot } from '../../image/base.ts';
import { DirStore, openImageStore } from '../../image/index.ts';
import { encodeCpio, type CpioEntry } from '../../node/host/vm/cpio.ts';
import { DEFAULT_GUEST_KERNEL_DIR } from '../../node/host/vm/guest.ts';
import { requireHost } from '../helpers/host.ts';
import { labSupported } from '../helpers/lab.ts';
import type { LabGrid } from '../helpers/lab-grid.ts';
import { defer } from '../node/storage-env.ts';

/** Everything a VM test needs from the host, checked once; false means the test returned (skip). */
export async function requireVmHost(t: TestContext): Promise<boolean> {
  const root = process.getuid?.() === 0;
  const qemu = (await execa('qemu-system-x86_64', ['--version'], { reject: false }).catch(() => undefined))?.exitCode === 0;
  const kernel = await readFile(join(process.env.ZOS_GUEST_KERNEL ?? DEFAULT_GUEST_KERNEL_DIR, 'vmlinuz')).then(() => true, () => false);
  const vfs = await readFile('/usr/lib/qemu/virtiofsd').then(() => true, () => false);
  return requireHost(t, root && qemu && kernel && vfs, 'VM tests need root, qemu-system-x86, virtiofsd and the guest kernel (.ci/setup)');
}

/** The base image (busybox + dropbear) plus a test file, built into a directory store once per test file. */
export async function buildTestImage(dir: string, tag = 'test/base:1'): Promise<{ store: string; digest: string; src: string }> {
  const src = join(dir, 'image-src');
  await buildBaseRoot(src);
  const store = join(dir, 'image-store');
  const remote = await DirStore.open(store);
  const builder = await openImageStore(join(dir, 'image-builder'));
  try {
    const r = await builder.build(src, { tag, store: remote });
    return { store, digest: r.digest, src };
  } finally {
    await builder.close();
    await remote.close();
  }
}

/**
 * The full-VM image's /sbin/init, a stand-in for a cloud image's cloud-init: it finds the seed disk
 * by its label, reports it and its files on the console (lines `fullvm: | ...` between
 * `fullvm: --- NAME` markers), then does what cloud-init would with them: the hostname from
 * meta-data, the address on the NIC whose MAC network-config names, and serves /hostname.
 */
const FULL_VM_INIT = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev 2>/dev/null
echo "fullvm: up, root $($B awk '$2 == "/" { print $1 }' /proc/mounts)"
dev=$($B findfs LABEL=cidata)
$B mkdir -p /ci /www
$B mount -t vfat -o ro "$dev" /ci && echo "fullvm: cidata on $dev, read-only $($B blockdev --getro "$dev")"
for f in meta-data network-config user-data; do echo "fullvm: --- $f"; $B sed 's/^/fullvm: | /' /ci/$f; done
echo "fullvm: --- end"
mac=$($B awk '/macaddress:/ { gsub(/"/, "", $2); print $2; exit }' /ci/network-config)
addr=$($B awk '/addresses:/ { getline; print $2; exit }' /ci/network-config)
$B hostname "$($B awk '/local-hostname:/ { print $2 }' /ci/meta-data)"
for n in /sys/class/net/*; do
  [ "$($B cat $n/address)" = "$mac" ] || continue
  $B ip link set \${n##*/} up && $B ip addr add $addr dev \${n##*/} && echo "fullvm: \${n##*/} $mac $addr"
done
$B hostname > /www/hostname
exec $B httpd -f -p 80 -h /www
`;

/**
 * A full-VM image (zos: the image has /image.raw): a 64 MiB ext4 disk image whose /sbin/init
 * reads its cloud-init seed disk (FULL_VM_INIT), with its own kernel (the guest kernel) and an
 * initrd that loads the virtio block, network and vfat drivers and switches to /dev/vda. Built
 * into the directory store `store`.
 */
export async function buildFullVmImage(dir: string, store: string, tag = 'test/full:1'): Promise<{ digest: string; rawBytes: number }> {
  const kernelDir = process.env.ZOS_GUEST_KERNEL ?? DEFAULT_GUEST_KERNEL_DIR;
  const busybox = await readFile('/bin/busybox');
  const disk = join(dir, 'full-disk');
  await mkdir(join(disk, 'bin'), { recursive: true });
  for (const d of ['sbin', 'proc', 'sys', 'dev']) await mkdir(join(disk, d), { recursive: true });
  await writeFile(join(disk, 'bin/busybox'), busybox, { mode: 0o755 });
  await writeFile(join(disk, 'sbin/init'), FULL_VM_INIT, { mode: 0o755 });
  const src = join(dir, 'full-src');
  await mkdir(join(src, 'boot'), { recursive: true });
  const rawBytes = 64 * 1024 * 1024;
  await execa('mkfs.ext4', ['-q', '-F', '-d', disk, join(src, 'image.raw'), '64M']);
  await copyFile(join(kernelDir, 'vmlinuz'), join(src, 'boot/vmlinuz'));
  // The flat modules of .ci/setup, then vfat and its code pages from the kernel's module tree.
  const [version] = await readdir(join(kernelDir, 'lib/modules'));
  const fs = join(kernelDir, 'lib/modules', version!, 'kernel/fs');
  const mods: [string, string][] = [
    ...['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk', 'failover', 'net_failover', 'virtio_net']
      .map((m): [string, string] => [m, join(kernelDir, 'modules', `${m}.ko`)]),
    ['fat', join(fs, 'fat/fat.ko')], ['vfat', join(fs, 'fat/vfat.ko')],
    ...['nls_cp437', 'nls_ascii', 'nls_utf8', 'nls_iso8859-1'].map((m): [string, string] => [m, join(fs, 'nls', `${m}.ko`)]),
  ];
  const init = '#!/bin/busybox sh\nB=/bin/busybox\n$B mount -t proc proc /proc\n$B mount -t devtmpfs dev /dev\n' +
    `for m in ${mods.map(([m]) => m).join(' ')}; do $B insmod /mods/$m.ko; done\n` +
    'for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; $B sleep 1; done\n' +
    '$B mount -t ext4 /dev/vda /newroot || echo "fullvm: cannot mount /dev/vda"\n$B umount /proc\nexec $B switch_root /newroot /sbin/init\n';
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'mods', 'newroot'].map((d) => ({ type: 'dir', path: d }));
  entries.push({ type: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 }, { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  for (const [m, path] of mods) entries.push({ type: 'file', path: `mods/${m}.ko`, data: await readFile(path), mode: 0o644 });
  await writeFile(join(src, 'boot/initrd.img'), encodeCpio(entries));
  await chmod(join(src, 'boot/vmlinuz'), 0o644);
  const remote = await DirStore.open(store);
  const builder = await openImageStore(join(dir, 'full-builder'));
  try {
    return { digest: (await builder.build(src, { tag, store: remote })).digest, rawBytes };
  } finally {
    await builder.close();
    await remote.close();
  }
}

/** What a VM lab test starts from: its cleanup stack, temp dir, the test image and a one-node LabGrid. */
export interface VmLab {
  defer: (fn: () => unknown) => void;
  dir: string;
  image: Awaited<ReturnType<typeof buildTestImage>>;
  grid: LabGrid;
  lab: LabGrid['lab'];
}

/**
 * The opening of every VM lab test: host checks (null: skipped, the test returns), then the test
 * image built while the grid (devnet, relay, one lab node) starts, since neither needs the other.
 * Both are awaited before a failure is thrown, so cleanup never races a half-started step.
 */
export async function startVmLab(t: TestContext, o: { tempPrefix?: string; relayTls?: boolean } = {}): Promise<VmLab | null> {
  const why = await labSupported();
  if (!requireHost(t, why === null, why ?? '') || !(await requireVmHost(t))) return null;
  const defer = cleanupStack(t);
  const dir = await tempDir(defer, o.tempPrefix);
  // Loaded here, not at the top: the chain client it brings takes seconds to load, and the VM
  // host tests that share this file need no grid.
  const grid = new (await import('../helpers/lab-grid.ts')).LabGrid();
  defer(() => grid.close());
  const [image, started] = await Promise.allSettled([buildTestImage(dir), grid.start({ nodes: 1, relayTls: o.relayTls })]);
  if (image.status === 'rejected') throw image.reason;
  if (started.status === 'rejected') throw started.reason;
  return { defer, dir, image: image.value, grid, lab: grid.lab };
}

/** Cleanups that run last-registered-first (see storage-env's defer). */
export function cleanupStack(t: TestContext): (fn: () => unknown) => void {
  return (fn) => defer(t, async () => fn());
}

/** A temp dir removed at the end (set ZOS_VM_KEEP=1 to keep it for a post-mortem). */
export async function tempDir(defer: (fn: () => unknown) => void, prefix = 'zos-vm-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  if (!process.env.ZOS_VM_KEEP) defer(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** An ed25519 key pair for SSH checks. */
export async function sshKey(dir: string): Promise<{ key: string; pub: string }> {
  const key = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  return { key, pub: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

export async function sshRun(netns: string, key: string, ip: string, cmd: string): Promise<{ exitCode?: number; stdout: string; stderr: string }> {
  const r = await execa('ip', ['netns', 'exec', netns, 'ssh', '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR', `root@${ip}`, cmd], { reject: false, timeout: 30_000 });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** curl from inside a namespace, retried until the guest's server answers (bounded). */
export async function curlIn(netns: string, url: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await execa('ip', ['netns', 'exec', netns, 'curl', '-sf', '--max-time', '3', url], { reject: false });
    if (r.exitCode === 0) return String(r.stdout);
    if (Date.now() > deadline) throw new Error(`curl ${url} in ${netns}: ${r.stderr || `exit ${r.exitCode}`}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

/** Processes whose command line contains `needle` (to prove nothing was left behind). */
export async function processesWith(needle: string): Promise<number[]> {
  const r = await execa('pgrep', ['-f', needle], { reject: false });
  return String(r.stdout).split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid);
}

/** A namespace with a bridge at 198.18.<octet>.1/24, removed after the test. */
export async function labNetns(defer: (fn: () => unknown) => void, octet: number): Promise<{ netns: string; bridge: string; gateway: string; subnet: string }> {
  const netns = `zvm${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  const ip = (...a: string[]) => execa('ip', ['-n', netns, ...a]);
  await execa('ip', ['netns', 'add', netns]);
  defer(() => execa('ip', ['netns', 'del', netns], { reject: false }));
  await ip('link', 'set', 'lo', 'up');
  await ip('link', 'add', 'br0', 'type', 'bridge');
  await ip('addr', 'add', `198.18.${octet}.1/24`, 'dev', 'br0');
  await ip('link', 'set', 'br0', 'up');
  return { netns, bridge: 'br0', gateway: `198.18.${octet}.1`, subnet: `198.18.${octet}.0/24` };
}
