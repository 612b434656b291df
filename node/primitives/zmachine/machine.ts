import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { ImageNode } from '../../../image/index.ts';
import { formatIP } from '../../model/goformat.ts';
import { networkId, uniqueName } from '../../model/ids.ts';
import { minRootSize, type MachineBase } from '../../model/zmachine-common.ts';
import { runResult } from '../../host/exec.ts';
import { convert4to6 } from '../../host/network/addr.ts';
import { storageName } from '../../host/storage/names.ts';
import type { DiskStore, VolumeStore } from '../../host/storage/types.ts';
import type { VmHost } from '../../host/vm/host.ts';
import { IMAGE_INITRD, IMAGE_KERNEL, IMAGE_RAW, imageFile } from '../../host/vm/image-files.ts';
import { sshKeysOf, splitCommand, type GuestSeed } from '../../host/vm/seed.ts';
import type { VmBoot, VmSpec } from '../../host/vm/spec.ts';
import { NoActionNeeded, type IdleContext, type InitContext, type PrimitiveContext, type StoredWorkload } from '../types.ts';
import type { ResolvedFlist } from './flist.ts';
import { collectImageCache, imagesUsed } from './image-gc.ts';
import { macOf } from './mac.ts';
import type { StartupEntry } from './startup.ts';

/** Where a VM's NIC lands: the network host's tap on the NR bridge (see NetworkHost.attachTap). */
export interface TapAttacher {
  attachTap(twin: number, network: string, key: string): Promise<{ tap: string; subnet: string; gateway: string; ipRange: string | null }>;
  detachTap(tap: string): Promise<void>;
}

/** Where a VM's public NIC lands: the public bridge (see PublicHost.attachTap). */
export interface PublicTapAttacher {
  attachTap(key: string): Promise<{ tap: string }>;
}

/**
 * A VM's public NIC as its `ip` workload gave it: `key` names tap and MAC; CIDRs and gateways
 * ('' where absent). The default routes take it: the private NIC then routes only its network.
 */
export interface PublicNic {
  key: string;
  ip: string;
  gateway: string;
  ip6: string;
  gw6: string;
}

export interface MachineHosts {
  vm: VmHost;
  /** The image store, opened on first use. */
  images: () => Promise<ImageNode>;
  network: TapAttacher;
  /** Absent where public IPs are not offered (zmachine-light). */
  public?: PublicTapAttacher;
  /** The namespace the network host puts taps in (undefined: the node's own). */
  tapNetns?: string;
  storage: DiskStore & VolumeStore;
}

/** The fields zmachine and zmachine-light share (validated data from node/model). */
export interface MachineConfig extends MachineBase {
  network: { interfaces: { network: string; ip: Uint8Array | null }[]; mycelium?: unknown };
}

export interface MachineResult {
  id: string;
  ip: string;
  mycelium_ip: string;
  console_url: string;
}

type Kind = 'zmachine' | 'zmachine-light';
/** zos' nameservers for every VM (light too), on its first NIC. */
const DNS = ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888'];

function rootVolume(id: string): string {
  return `rootfs.${storageName(id)}`;
}

function ipv4Of(cidr: string): { net: number; bits: number } {
  const [addr, bits] = cidr.split('/');
  return { net: toInt(addr!), bits: Number(bits) };
}

function toInt(ip: string): number {
  return ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
}

function inSubnet(ip: string, cidr: string): boolean {
  const { net, bits } = ipv4Of(cidr);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((net & mask) >>> 0);
}

/**
 * As zos, when a VM's writable root is first made: the image's SSH host keys (/etc/ssh/ssh_host_*)
 * are deleted from it (whiteouts in the VM's layer; the shared image keeps them), so VMs of one
 * image never share host keys; the guest's SSH server makes its own.
 */
export async function dropHostKeys(root: string): Promise<void> {
  // The image's own links are never followed: an `etc` linked to the host's /etc stays untouched.
  const realDir = (p: string) => lstat(p).then((st) => st.isDirectory(), () => false);
  if (!(await realDir(join(root, 'etc'))) || !(await realDir(join(root, 'etc/ssh')))) return;
  const dir = join(root, 'etc/ssh');
  const keys = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('ssh_host_'));
  await Promise.all(keys.map((f) => rm(join(dir, f), { force: true })));
}

/**
 * zmachine and zmachine-light on QEMU: the image named by `flist` (pulled over HTTP into the
 * node's one store, every file verified when it is materialized), a writable overlay on a btrfs
 * volume of `size`, zmount disks as virtio-blk, volumes over virtiofs, one NIC on the private
 * network's bridge. Light differs only in its routes (default via the NR), its private NIC's lack of
 * IPv6 (zos gives light no ULA) and result shape.
 */
export function machinePrimitive(kind: Kind, h: MachineHosts) {
  /** The image code (HTTP store, pull, materialize) loads with the first machine (issue 16, memory). */
  async function resolveImage(flist: string): Promise<ResolvedFlist> {
    imagesUsed(h.images);
    const [{ resolveFlist }, images] = await Promise.all([import('./flist.ts'), h.images()]);
    return resolveFlist(images, flist);
  }


  /**
   * zmount disks (virtio-blk, vda..) and volumes (virtiofs, tag = name), in the order asked;
   * `format` gives blank disks a filesystem (container mode; a full VM's disks are its own).
   */
  async function resolveMounts(ctx: PrimitiveContext, mounts: MachineConfig['mounts'], format: boolean, first = 0) {
    const disks: { path: string; device: string; mountpoint: string }[] = [];
    const shares: { tag: string; path: string; mountpoint: string }[] = [];
    for (const m of mounts) {
      if (m.mountpoint === '/' || !m.mountpoint.startsWith('/')) throw new Error(`invalid mount point '${m.mountpoint}' for disk '${m.name}'`);
      const wl = ctx.deployment.get(m.name);
      if (wl?.type !== 'zmount' && wl?.type !== 'volume') throw new Error(`expecting a reservation of type 'zmount' or 'qsfs' for disk '${m.name}'`);
      if (wl.state !== 'ok') throw new Error(`invalid disk '${m.name}' state`);
      const name = storageName(wl.workload.id);
      if (wl.type === 'zmount') {
        const info = await h.storage.diskInfo(name);
        if (!info) throw new Error(`invalid disk '${m.name}' state`);
        if (format) await ensureFilesystem(info.path, ctx);
        disks.push({ path: info.path, device: `vd${String.fromCharCode(97 + first + disks.length)}`, mountpoint: m.mountpoint });
      } else {
        const info = await h.storage.subvolumeInfo(name);
        if (!info) throw new Error(`invalid disk '${m.name}' state`);
        shares.push({ tag: m.name, path: info.path, mountpoint: m.mountpoint });
      }
    }
    return { disks, shares };
  }

  /** A fresh zmount gets ext4 (built into the guest kernel); an existing filesystem is kept. */
  async function ensureFilesystem(path: string, ctx: PrimitiveContext): Promise<void> {
    const probe = await runResult('blkid', ['-p', path], { log: ctx.log });
    if (probe.exitCode === 0) return;
    const r = await runResult('mkfs.ext4', ['-q', '-F', path], { log: ctx.log, timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`failed to prepare mount: mkfs.ext4: ${r.stderr}`);
  }

  /**
   * A full VM (the image has /image.raw) boots from mounts[0], a zmount of this deployment: the
   * image is written onto it only while it holds no filesystem, as zos does (a restart keeps what
   * the VM wrote). zos' errors.
   */
  async function bootDisk(ctx: PrimitiveContext, config: MachineConfig, tree: string): Promise<string> {
    const first = config.mounts[0];
    if (!first) throw new Error('at least one mount has to be attached for Vm mode');
    const wl = ctx.deployment.get(first.name);
    if (wl?.type !== 'zmount') throw new Error('mount is not a valid disk workload');
    const info = wl.state === 'ok' ? await h.storage.diskInfo(storageName(wl.workload.id)) : undefined;
    if (!info) throw new Error('boot disk was not deployed correctly');
    if ((await runResult('blkid', ['-p', info.path], { log: ctx.log })).exitCode === 0) return info.path;
    const image = (await imageFile(tree, IMAGE_RAW))!;
    if ((await stat(image)).size > (await stat(info.path)).size) throw new Error('image size is bigger than disk');
    const r = await runResult('dd', [`if=${image}`, `of=${info.path}`, 'bs=1M', 'conv=notrunc,sparse,fsync'], { log: ctx.log, timeoutMs: 600_000 });
    if (r.exitCode !== 0) throw new Error(`failed to write the image to the boot disk: ${r.stderr}`);
    return info.path;
  }

  function result(ctx: PrimitiveContext, config: MachineConfig): MachineResult {
    const ip = formatIP(config.network.interfaces[0]?.ip);
    return { id: ctx.workload.id, ip, mycelium_ip: '', console_url: '' };
  }

  async function cleanup(ctx: PrimitiveContext, attached: string[]): Promise<void> {
    const taps = new Set([...attached, ...(h.vm.info(ctx.workload.id)?.taps ?? [])]);
    await h.vm.stop(ctx.workload.id).catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, 'vm stop failed'));
    for (const tap of taps) await h.network.detachTap(tap).catch(() => undefined);
    imagesUsed(h.images);
    await h.images()
      .then(async (images) => {
        await images.releaseRoot(ctx.workload.id);
        images.cache.uses.delete(ctx.workload.id); // its tree goes at the next idle gc, if no other VM uses it
      })
      .catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, 'root release failed'));
    await h.storage.deleteSubvolume(rootVolume(ctx.workload.id)).catch(() => undefined);
  }

  /**
   * How the VM boots: our kernel and init (container); the image's kernel over the virtiofs root;
   * a full VM's kernel (its files, verified) with root /dev/vda, or the firmware from its disk.
   * Every mode gets the seed on a cloud-init disk, as zos gives every VM one (spec.ts). A
   * kernel-mode `init=` is the deployment's own entrypoint: zos sets it before it reads the
   * image's .startup.toml.
   */
  async function vmBoot(image: { tree: string; boot: 'container' | 'kernel' | 'full' }, root: string | undefined, seed: GuestSeed, init: string | undefined): Promise<VmBoot> {
    if (image.boot === 'container') return { kind: 'container', seed };
    // A kernel-mode VM's own root: what its guest left in /boot on a previous run boots it, as in zos.
    const base = root ?? image.tree;
    const kernel = await imageFile(base, IMAGE_KERNEL);
    const initrd = await imageFile(base, IMAGE_INITRD);
    if (image.boot === 'kernel') {
      // The paths as named, not resolved: each launch boots what the root's links name then (checkedBootFiles).
      if (!kernel) throw new Error(`path '/${IMAGE_KERNEL}' is gone from the vm's root`);
      return { kind: 'kernel', kernel: join(base, IMAGE_KERNEL), initrd: initrd && join(base, IMAGE_INITRD), init, seed };
    }
    return kernel ? { kind: 'kernel', kernel, initrd, root: 'disk', seed } : { kind: 'disk', seed };
  }

  /**
   * The deployment's entrypoint and env with those of the image's /.startup.toml, read from the
   * VM's root (a link out of it is refused, as for the boot files).
   */
  async function withImageStartup(root: string, own: StartupEntry): Promise<StartupEntry> {
    try {
      const file = await imageFile(root, '.startup.toml');
      if (file === undefined) return own;
      // The TOML parser loads with the first image that has the file (issue 16, memory).
      const { applyStartup, parseStartup } = await import('./startup.ts');
      return applyStartup(own, parseStartup(await readFile(file, 'utf8')));
    } catch (err) {
      throw new Error(`failed to apply startup config from flist: ${(err as Error).message}`);
    }
  }

  function othersUsing(network: string, ip: string, self: string, twin: number): boolean {
    return h.vm.list().some((v) => v.id !== self && v.twin === twin && v.network === network && v.ip === ip && v.state !== 'failed');
  }

  return {
    async provision(ctx: PrimitiveContext, config: MachineConfig, pub?: PublicNic): Promise<MachineResult> {
      const id = ctx.workload.id;
      const res = result(ctx, config);
      const running = h.vm.info(id);
      if (running && running.state !== 'failed') throw new NoActionNeeded(res);
      if (config.gpu.length) throw new Error(`unknown GPU id '${config.gpu[0]}'`);
      const cpus = availableParallelism();
      if (config.compute_capacity.cpu > cpus) throw new Error(`invalid cpu must be between 1 and ${cpus}`);
      // This node runs no mycelium (see network-light), so a mycelium NIC cannot be made.
      if (config.network.mycelium) throw new Error('could not set up tap device: network resource does not support mycelium');
      const iface = config.network.interfaces[0]!;
      const ip = formatIP(iface.ip);
      const taps: string[] = [];
      try {
        const att = await h.network.attachTap(ctx.workload.twin, iface.network, uniqueName(id, iface.network));
        taps.push(att.tap);
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error('invalid IPv4 supplied to wg interface');
        if (!inSubnet(ip, att.subnet)) throw new Error(`IP ${ip} is not part of local nr subnet ${att.subnet}`);
        if (ip.endsWith('.1') || ip.endsWith('.0') || ip.endsWith('.255')) throw new Error(`ip ${ip} is reserved`);
        const netId = networkId(ctx.workload.twin, iface.network);
        if (othersUsing(netId, ip, id, ctx.workload.twin)) throw new Error(`private ip ${ip} is being used by another vm`);

        // As zos: NICs, then the image, then the mounts.
        const image = await resolveImage(config.flist);
        // What the cache's gc keeps (image-gc.ts): written before anything runs on the tree.
        (await h.images()).cache.uses.set(id, image.digest);
        const full = image.boot === 'full';
        // A full VM: mounts[0] is its boot disk (vda), the rest follow (zos attaches them without mount entries).
        const mounts = await resolveMounts(ctx, full ? config.mounts.slice(1) : config.mounts, !full, full ? 1 : 0);

        // Container and kernel modes: the image over virtiofs with a writable layer on a volume of `size`.
        let root: { path: string } | undefined;
        if (!full) {
          const size = Math.max(config.size, minRootSize(config.compute_capacity.cpu, config.compute_capacity.memory));
          const kept = await h.storage.subvolumeInfo(rootVolume(id));
          const vol = kept ?? await h.storage.createSubvolume(rootVolume(id), size);
          root = await (await h.images()).prepareRoot(image.ref, id, { layerDir: vol.path });
          if (!kept) await dropHostKeys(root.path);
        }
        // Container and kernel modes, as zos: the image's .startup.toml adds its entrypoint and env.
        const own: StartupEntry = { entrypoint: config.entrypoint, env: config.env };
        const run = root ? await withImageStartup(root.path, own) : own;
        const argv = splitCommand(run.entrypoint);
        // A kernel-mode init= is the deployment's own entrypoint, never the image's (zos).
        const init = run.entrypoint === config.entrypoint ? argv[0] : undefined;

        const defaultRoute = pub?.ip ? null : '0.0.0.0/0';
        const routes = kind === 'zmachine-light' ? [defaultRoute, att.ipRange] : [defaultRoute, att.ipRange, '100.64.0.0/16'];
        const mac = macOf(uniqueName(id, iface.network));
        const nics: GuestSeed['nics'] = [{
          mac, cidr: `${ip}/${att.subnet.split('/')[1]}`, gateway: att.gateway, routes: [...new Set(routes.filter((r): r is string => !!r))],
          // zos (not light): the NR's ULA /64 of this network, the NR's .1 as gateway6 unless a public IPv6 takes the default.
          ...(kind === 'zmachine' ? { cidr6: `${convert4to6(netId, toInt(ip))}/64`, gateway6: convert4to6(netId, toInt(att.gateway)), routes6: pub?.ip6 ? [] : ['::/0'] } : {}),
        }];
        const vmNics: VmSpec['nics'] = [{ tap: att.tap, mac, netns: h.tapNetns }];
        if (pub) {
          if (!h.public) throw new Error('public ipv4 is requested, but not supported on this node');
          const { tap } = await h.public.attachTap(pub.key);
          taps.push(tap);
          const pmac = macOf(pub.key);
          nics.push({
            mac: pmac, cidr: pub.ip, gateway: pub.gateway, routes: pub.ip ? ['0.0.0.0/0'] : [],
            ...(pub.ip6 ? { cidr6: pub.ip6, gateway6: pub.gw6, routes6: pub.gw6 ? ['::/0'] : [] } : {}),
          });
          vmNics.push({ tap, mac: pmac, netns: h.tapNetns });
        }
        const seed: GuestSeed = {
          hostname: ctx.workload.name,
          nics,
          dns: DNS,
          disks: mounts.disks.map((d) => ({ device: d.device, mountpoint: d.mountpoint })),
          shares: mounts.shares.map((s) => ({ tag: s.tag, mountpoint: s.mountpoint })),
          sshKeys: sshKeysOf(run.env),
          env: run.env,
          entrypoint: argv,
        };
        // The image is written onto a full VM's boot disk last, once everything else is in order.
        const boot = full ? await bootDisk(ctx, config, image.tree) : undefined;
        const spec: VmSpec = {
          id, type: kind, twin: ctx.workload.twin, network: netId, ip,
          cpu: config.compute_capacity.cpu, memoryBytes: config.compute_capacity.memory, boot: await vmBoot(image, root?.path, seed, init),
          disks: [...(boot ? [{ path: boot }] : []), ...mounts.disks.map((d) => ({ path: d.path }))],
          shares: [...(root ? [{ tag: 'vroot', path: root.path }] : []), ...mounts.shares.map((s) => ({ tag: s.tag, path: s.path }))],
          nics: vmNics,
        };
        await h.vm.start(spec);
        return res;
      } catch (err) {
        await cleanup(ctx, taps);
        throw err;
      }
    },

    async deprovision(ctx: PrimitiveContext): Promise<void> {
      await cleanup(ctx, []);
    },

    async pause(ctx: PrimitiveContext): Promise<void> {
      await h.vm.pause(ctx.workload.id);
    },

    async resume(ctx: PrimitiveContext): Promise<void> {
      await h.vm.resume(ctx.workload.id);
    },

    /** Adopt the VMs still running; stop those of this type that no workload owns any more. */
    async init(ictx: InitContext<MachineConfig, MachineResult>): Promise<void> {
      await h.vm.init();
      const owned = new Set(ictx.workloads.map((w: StoredWorkload<MachineConfig, MachineResult>) => w.workload.id));
      for (const v of h.vm.list()) {
        if (v.type === kind && !owned.has(v.id)) {
          ictx.log.warn({ vm: v.id }, 'stopping a vm no workload owns');
          await h.vm.stop(v.id);
        }
      }
    },

    /** Between jobs: the image cache's gc (image-gc.ts). */
    async idle(ictx: IdleContext<MachineConfig, MachineResult>): Promise<void> {
      await collectImageCache(h.images, ictx);
    },
  };
}
