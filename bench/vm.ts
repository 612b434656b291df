/**
 * VMs: deploy -> ok through the machine primitive (pull + verify the image, root volume and overlay,
 * virtiofsd, QEMU, guest init ready) against a bare QEMU boot of the same kernel, initramfs and root
 * in the same run; memory overhead per VM (QEMU and virtiofsd beyond guest RAM); disk used by 10 VMs
 * from one image against the image alone. Needs root, QEMU and the guest kernel (.ci/setup).
 * Usage: node --import tsx bench/vm.ts [--vms 10]
 */
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildBaseRoot } from '../image/base.ts';
import { DirStore, openImageStore } from '../image/index.ts';
import { serveStore } from '../image/serve.ts';
import { silentLogger } from '../lib/log.ts';
import { parseIP } from '../node/model/goformat.ts';
import { StorageHost } from '../node/host/storage/index.ts';
import { readFrom } from '../node/host/vm/console.ts';
import { DEFAULT_GUEST_KERNEL_DIR, guestKernel } from '../node/host/vm/guest.ts';
import { VmHost } from '../node/host/vm/host.ts';
import { readPid, spawnDetached, terminate, waitFor } from '../node/host/vm/procs.ts';
import { writeSeedDisk } from '../node/host/vm/cidata.ts';
import { renderCloudInit } from '../node/host/vm/cloudinit.ts';
import { qemuArgs, type VmSpec } from '../node/host/vm/spec.ts';
import type { DeploymentView, PrimitiveContext } from '../node/primitives/types.ts';
import { machinePrimitive } from '../node/primitives/zmachine/machine.ts';

const MiB = 1024 * 1024;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const VMS = arg('vms', 10);
const BOOTS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// -x: never count an overlay mount's merged view (that would count the image again per VM).
const du = async (...paths: string[]) => Number((await execa('du', ['-sckx', ...paths])).stdout.trim().split('\n').pop()!.split('\t')[0]) * 1024;

async function rssOf(pid: number): Promise<{ anon: number; file: number; shmem: number }> {
  const st = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
}

/** Bare QEMU: the same kernel, initramfs and root tree, no node code; ms to the guest init's ready line. */
async function bareBoot(work: string, root: string, kernelDir: string): Promise<number> {
  const dir = await mkdtemp(join(work, 'bare-'));
  const guest = await guestKernel(kernelDir, join(work, 'cache'));
  const seed = { hostname: 'bare', nics: [], dns: [], disks: [], shares: [], sshKeys: [], env: {}, entrypoint: ['/bin/sleep', '600'] };
  const spec: VmSpec = { id: 'bare', cpu: 1, memoryBytes: 256 * MiB, disks: [], nics: [], shares: [{ tag: 'vroot', path: root }], boot: { kind: 'container', seed } };
  await writeSeedDisk(join(dir, 'cidata.img'), renderCloudInit('bare', seed, true));
  const t0 = performance.now();
  const vfs = spawnDetached('/usr/lib/qemu/virtiofsd', ['-f', `--socket-path=${dir}/fs-0.sock`, '-o', `source=${root}`, '-o', 'cache=auto'], join(dir, 'vfs.log'));
  await waitFor(() => readFile(`${dir}/fs-0.sock`).then(() => true, (e: NodeJS.ErrnoException) => e.code !== 'ENOENT'), 5000, 10);
  await execa('qemu-system-x86_64', qemuArgs(spec, 'tcg', { dir, ...guest }));
  await waitFor(async () => (await readFrom(join(dir, 'console.log'), 0)).includes('zos-init: ready'), 120_000, 20);
  const ms = performance.now() - t0;
  await terminate(await readPid(join(dir, 'qemu.pid')), 'zos-vm:bare');
  await terminate(vfs, dir);
  return ms;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/vm.ts needs root (QEMU, loop devices, overlay mounts)');
  const kernelDir = process.env.ZOS_GUEST_KERNEL ?? DEFAULT_GUEST_KERNEL_DIR;
  const work = await mkdtemp(join(tmpdir(), 'zos-bench-vm-'));
  const storage = new StorageHost({ dataDir: join(work, 'storage'), pools: [{ name: 'default', image: { size: 64 * 1024 * MiB } }], log: silentLogger() });
  let vm: VmHost | undefined;
  try {
    await buildBaseRoot(join(work, 'src'));
    const remote = await DirStore.open(join(work, 'remote'));
    const builder = await openImageStore(join(work, 'builder'));
    await builder.build(join(work, 'src'), { tag: 'bench/base:1', store: remote });
    await builder.close();
    const server = await serveStore(join(work, 'remote'));
    await storage.start();
    const images = await openImageStore(join(work, 'images'));
    vm = new VmHost({ dir: join(work, 'vms'), log: silentLogger(), accel: 'tcg' });
    const ns = `zbv${process.pid}`;
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await execa('ip', ['-n', ns, 'link', 'set', 'br0', 'up']);
    const network = {
      async attachTap(_twin: number, _net: string, key: string) {
        const tap = `tb${key.slice(0, 8)}`;
        await execa('ip', ['-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
        await execa('ip', ['-n', ns, 'link', 'set', tap, 'master', 'br0', 'up']);
        return { tap, subnet: '198.18.90.0/24', gateway: '198.18.90.1', ipRange: null };
      },
      detachTap: async (tap: string) => void (await execa('ip', ['-n', ns, 'link', 'del', tap], { reject: false })),
    };
    const m = machinePrimitive('zmachine-light', { vm, images: async () => images, network, tapNetns: ns, storage });
    const view = { get: () => undefined } as unknown as DeploymentView;
    const ctx = (i: number): PrimitiveContext => ({ workload: { twin: 1, contract: 1, name: `vm${i}`, id: `1-1-vm${i}` }, deployment: view, log: silentLogger(), signal: new AbortController().signal });
    const config = (i: number) => ({
      flist: `${server.url}/bench/base:1.flist`, size: 0, compute_capacity: { cpu: 1, memory: 256 * MiB }, mounts: [], entrypoint: '/bin/sleep 600', env: {}, gpu: [],
      network: { interfaces: [{ network: 'n', ip: parseIP(`198.18.90.${10 + i}`) }] },
    });

    // deploy -> ok, alternating with bare boots so both see the same load.
    const deploy: number[] = [];
    const bare: number[] = [];
    const tree = async () => (await images.materialize('bench/base:1')).path;
    for (let i = 0; i < BOOTS; i++) {
      const t0 = performance.now();
      await m.provision(ctx(i), config(i));
      deploy.push(performance.now() - t0);
      if (i === 0) {
        const pid = vm.info('1-1-vm0')!.pid!;
        await new Promise((r) => setTimeout(r, 2000));
        const q = await rssOf(pid);
        const vfsPid = await readPid(join(work, 'vms/1-1-vm0/fs-0.pid'));
        const v = vfsPid ? await rssOf(vfsPid) : { anon: 0, file: 0, shmem: 0 };
        memory = { qemuOverhead: q.anon, qemuShared: q.file, guestTouched: q.shmem, virtiofsd: v.anon };
      }
      await m.deprovision(ctx(i));
      const ovl = join(work, 'bare-root');
      await mkdir(join(ovl, 'u'), { recursive: true });
      await mkdir(join(ovl, 'w'), { recursive: true });
      await mkdir(join(ovl, 'm'), { recursive: true });
      await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${await tree()},upperdir=${ovl}/u,workdir=${ovl}/w`, `${ovl}/m`]);
      try {
        bare.push(await bareBoot(work, `${ovl}/m`, kernelDir));
      } finally {
        await execa('umount', [`${ovl}/m`]);
        await rm(ovl, { recursive: true, force: true });
      }
    }

    // Disk: one image in the node (chunk store + verified tree) vs VMS roots from it.
    const imageBytes = await du(join(work, 'images/store'), join(work, 'images/cache'));
    for (let i = 0; i < VMS; i++) {
      const vol = await storage.createSubvolume(`rootfs.d${i}`, 500 * MiB);
      await images.prepareRoot('bench/base:1', `d${i}`, { layerDir: vol.path });
    }
    await execa('sync');
    const vols = (await storage.listSubvolumes()).filter((v) => v.name.startsWith('rootfs.d'));
    const withVms = imageBytes + (await du(join(work, 'images/roots'), ...vols.map((v) => v.path)));
    for (let i = 0; i < VMS; i++) await images.releaseRoot(`d${i}`);
    await execa('ip', ['netns', 'del', ns]);
    await server.close();
    await images.close();

    const d = median(deploy);
    const b = median(bare);
    const mem = memory!;
    const overhead = mem.qemuOverhead + mem.virtiofsd;
    console.log(`deploy -> ok (pull + verify + root + boot), median of ${BOOTS}: ${(d / 1000).toFixed(2)} s  [${deploy.map((x) => (x / 1000).toFixed(2)).join(', ')}]`);
    console.log(`bare QEMU boot, same kernel/initramfs/root (baseline): ${(b / 1000).toFixed(2)} s  [${bare.map((x) => (x / 1000).toFixed(2)).join(', ')}]`);
    console.log(`memory per VM (256 MiB guest): private QEMU ${(mem.qemuOverhead / MiB).toFixed(1)} MiB (TCG code cache, device state) + virtiofsd ${(mem.virtiofsd / MiB).toFixed(1)} MiB beyond guest RAM; file-backed ${(mem.qemuShared / MiB).toFixed(1)} MiB shared by all VMs; guest touched ${(mem.guestTouched / MiB).toFixed(1)} MiB`);
    console.log(`disk: one image ${(imageBytes / MiB).toFixed(1)} MiB; with ${VMS} VM roots ${(withVms / MiB).toFixed(1)} MiB`);
    console.log(`host load: ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')} (2 cores)`);
    const r1 = d / b;
    const r2 = overhead / MiB;
    const r3 = withVms / imageBytes;
    console.log(`RESULT vm: deploy/bare ${r1.toFixed(2)}x (goal <= 1.5) ${r1 <= 1.5 ? 'PASS' : 'MISS'} | overhead ${r2.toFixed(0)} MiB/VM (goal <= 64) ${r2 <= 64 ? 'PASS' : 'MISS'} | disk ${VMS} VMs/1 image ${r3.toFixed(2)}x (goal <= 1.2) ${r3 <= 1.2 ? 'PASS' : 'MISS'}`);
  } finally {
    vm?.close();
    await storage.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

let memory: { qemuOverhead: number; qemuShared: number; guestTouched: number; virtiofsd: number } | undefined;
await main();
