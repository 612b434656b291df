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
  return { store, digest: await buildInto(dir, src, store, tag), src };
}

/**
 * The init of the test images that boot their own OS, a stand-in for a cloud image's cloud-init
 * (`T` tags its console lines): it finds the seed disk by its label, reports it, the kernel command
 * line and the seed's files on the console (lines `T: | ...` between `T: --- NAME` markers), then
 * does what cloud-init would with them: the hostname from meta-data, the addresses on the NIC whose
 * MAC network-config names, zos' `mounts` from user-data (each target gets a file `written-by`
 * holding T, and its `df -k` line is served at /df-<n>), and serves /hostname.
 */
function seedReaderInit(tag: string): string {
  return `#!/bin/busybox sh
B=/bin/busybox
T=${tag}
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev 2>/dev/null
echo "$T: up, root $($B awk '$2 == "/" { print $1 }' /proc/mounts)"
echo "$T: cmdline $($B cat /proc/cmdline)"
dev=$($B findfs LABEL=cidata)
$B mkdir -p /ci /www
$B mount -t vfat -o ro "$dev" /ci && echo "$T: cidata on $dev, read-only $($B blockdev --getro "$dev")"
for f in meta-data network-config user-data; do echo "$T: --- $f"; $B sed "s/^/$T: | /" /ci/$f; done
echo "$T: --- end"
mac=$($B awk '/macaddress:/ { gsub(/"/, "", $2); print $2; exit }' /ci/network-config)
# The first NIC's addresses (IPv4, then IPv6 where given), before its nameservers' list.
addrs=$($B awk '/addresses:/ && !seen { a = 1; seen = 1; next } a && /^ *- / { print $2; next } { a = 0 }' /ci/network-config)
$B hostname "$($B awk '/local-hostname:/ { print $2 }' /ci/meta-data)"
for n in /sys/class/net/*; do
  [ "$($B cat $n/address)" = "$mac" ] || continue
  echo 0 > /proc/sys/net/ipv6/conf/\${n##*/}/accept_dad
  $B ip link set \${n##*/} up
  for a in $addrs; do $B ip addr add $a dev \${n##*/} && echo "$T: \${n##*/} $mac $a"; done
done
# zos' mounts: "  - - SRC" opens an entry; its next items are the target, the type and the options.
i=0
$B awk '/^mounts:/ { m = 1; next } /^[^ ]/ { m = 0 } m && /^  - - / { src = $3; n = 0; next }
  m && /^    - / { n++; if (n == 1) tgt = $2; if (n == 2) type = $2; if (n == 3) print src, tgt, type, $2 }' /ci/user-data > /mounts
while read src tgt type opts; do
  i=$((i + 1))
  $B mkdir -p "$tgt"
  if [ "$type" = auto ]; then $B mount -o "$opts" "$src" "$tgt"; else $B mount -t "$type" -o "$opts" "$src" "$tgt"; fi || { echo "$T: cannot mount $src"; continue; }
  echo "$T: mounted $src on $tgt ($type)"
  echo $T > "$tgt/written-by"
  $B df -k "$tgt" | $B tail -1 > /www/df-$i
done < /mounts
$B hostname > /www/hostname
exec $B httpd -f -p 80 -h /www
`;
}

/**
 * An initrd for the test images (`/boot/initrd.img`): busybox, the virtio block, network, fuse and
 * virtiofs drivers of .ci/setup's flat module directory and vfat with its code pages from the
 * kernel's module tree; its /init loads them, then runs `body`.
 */
async function imageInitrd(kernelDir: string, body: string): Promise<Buffer> {
  const busybox = await readFile('/bin/busybox');
  const [version] = await readdir(join(kernelDir, 'lib/modules'));
  const fs = join(kernelDir, 'lib/modules', version!, 'kernel/fs');
  const mods: [string, string][] = [
    ...['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk', 'failover', 'net_failover', 'virtio_net', 'fuse', 'virtiofs']
      .map((m): [string, string] => [m, join(kernelDir, 'modules', `${m}.ko`)]),
    ['fat', join(fs, 'fat/fat.ko')], ['vfat', join(fs, 'fat/vfat.ko')],
    ...['nls_cp437', 'nls_ascii', 'nls_utf8', 'nls_iso8859-1'].map((m): [string, string] => [m, join(fs, 'nls', `${m}.ko`)]),
  ];
  const init = '#!/bin/busybox sh\nB=/bin/busybox\n$B mount -t proc proc /proc\n$B mount -t devtmpfs dev /dev\n' +
    `for m in ${mods.map(([m]) => m).join(' ')}; do $B insmod /mods/$m.ko; done\n${body}`;
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'mods', 'newroot'].map((d) => ({ type: 'dir', path: d }));
  entries.push({ type: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 }, { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  for (const [m, path] of mods) entries.push({ type: 'file', path: `mods/${m}.ko`, data: await readFile(path), mode: 0o644 });
  return encodeCpio(entries);
}

/** A root for the test images: busybox, the empty mount points and the seed reader at `init`. */
async function readerRoot(dir: string, tag: string, init: string): Promise<void> {
  for (const d of ['bin', 'sbin', 'proc', 'sys', 'dev']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'bin/busybox'), await readFile('/bin/busybox'), { mode: 0o755 });
  await writeFile(join(dir, init), seedReaderInit(tag), { mode: 0o755 });
}

/** Build `src` into the directory store `store` as `tag`. */
export async function buildInto(dir: string, src: string, store: string, tag: string): Promise<string> {
  const remote = await DirStore.open(store);
  const builder = await openImageStore(join(dir, `builder-${tag.replace(/\W/g, '_')}`));
  try {
    return (await builder.build(src, { tag, store: remote })).digest;
  } finally {
    await builder.close();
    await remote.close();
  }
}

/**
 * A full-VM image (zos: the image has /image.raw): a 64 MiB ext4 disk image whose /sbin/init
 * reads its cloud-init seed disk (seedReaderInit, tag `fullvm`), with its own kernel (the guest
 * kernel) and an initrd that switches to /dev/vda. Built into the directory store `store`.
 */
export async function buildFullVmImage(dir: string, store: string, tag = 'test/full:1'): Promise<{ digest: string; rawBytes: number }> {
  const kernelDir = process.env.ZOS_GUEST_KERNEL ?? DEFAULT_GUEST_KERNEL_DIR;
  const disk = join(dir, 'full-disk');
  await readerRoot(disk, 'fullvm', 'sbin/init');
  const src = join(dir, 'full-src');
  await mkdir(join(src, 'boot'), { recursive: true });
  const rawBytes = 64 * 1024 * 1024;
  await execa('mkfs.ext4', ['-q', '-F', '-d', disk, join(src, 'image.raw'), '64M']);
  await copyFile(join(kernelDir, 'vmlinuz'), join(src, 'boot/vmlinuz'));
  await chmod(join(src, 'boot/vmlinuz'), 0o644);
  await writeFile(join(src, 'boot/initrd.img'), await imageInitrd(kernelDir,
    'for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; $B sleep 1; done\n' +
    '$B mount -t ext4 /dev/vda /newroot || echo "fullvm: cannot mount /dev/vda"\n$B umount /proc\nexec $B switch_root /newroot /sbin/init\n'));
  return { digest: await buildInto(dir, src, store, tag), rawBytes };
}

/**
 * A kernel-mode image (zos: the image has /boot/vmlinuz and no /image.raw): the guest kernel as its
 * own, an initrd of its own that says so on the console and mounts the root the command line names
 * (`root=vroot rootfstype=virtiofs`) before switching to its `init=`, and the seed reader (tag
 * `kernelvm`) at /sbin/seed-reader, which a deployment must name as its entrypoint: the image has
 * no /sbin/init, so the VM boots only if the entrypoint reaches the kernel as `init=`. It carries an
 * SSH host key in /etc/ssh beside a config file.
 */
export async function buildKernelVmImage(dir: string, store: string, tag = 'test/kernel:1'): Promise<string> {
  const kernelDir = process.env.ZOS_GUEST_KERNEL ?? DEFAULT_GUEST_KERNEL_DIR;
  const src = join(dir, 'kernel-src');
  await readerRoot(src, 'kernelvm', 'sbin/seed-reader');
  // SSH host keys, as an image built from a running system may carry: each VM must drop them.
  await mkdir(join(src, 'etc/ssh'), { recursive: true });
  await writeFile(join(src, 'etc/ssh/ssh_host_ed25519_key'), 'not a real key\n', { mode: 0o600 });
  await writeFile(join(src, 'etc/ssh/sshd_config'), 'PermitRootLogin prohibit-password\n');
  await mkdir(join(src, 'boot'));
  await copyFile(join(kernelDir, 'vmlinuz'), join(src, 'boot/vmlinuz'));
  await chmod(join(src, 'boot/vmlinuz'), 0o644);
  await writeFile(join(src, 'boot/initrd.img'), await imageInitrd(kernelDir, [
    'echo "kernelvm: initrd of the image"',
    'init=/sbin/init',
    'for a in $($B cat /proc/cmdline); do case "$a" in root=*) root=${a#root=};; rootfstype=*) type=${a#rootfstype=};; init=*) init=${a#init=};; esac; done',
    '$B mount -t "$type" "$root" /newroot || echo "kernelvm: cannot mount root $root ($type)"',
    '$B umount /proc',
    'exec $B switch_root /newroot "$init"',
    '',
  ].join('\n')));
  return buildInto(dir, src, store, tag);
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
  grid.lab.reportOnFailure(t);
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
