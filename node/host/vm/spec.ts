import type { GuestSeed } from './seed.ts';

/** Everything the VM host needs to (re)start one VM; stored as spec.json so a restarted node can adopt it. */
export interface VmSpec {
  /** The workload id `twin-contract-name`: names the VM's directory and its QEMU (`-name zos-vm:<id>`). */
  id: string;
  /** Who owns it, for listings: the workload type, twin, NetID and private IP. */
  type?: string;
  twin?: number;
  network?: string;
  ip?: string;
  cpu: number;
  memoryBytes: number;
  boot: VmBoot;
  /** virtio-blk disks in order (container mode: vda, vdb ... as the seed expects). */
  disks: { path: string; readonly?: boolean }[];
  /** virtiofs shares: the root (tag `vroot`) and volumes (tag = workload name). */
  shares: { tag: string; path: string }[];
  nics: VmNic[];
}

/**
 * How a VM boots. Each is told its deployment by `seed`, on a NoCloud disk (cloudinit.ts,
 * cidata.img in its directory) attached read-only after its other disks, as zos gives every VM
 * one: our guest init reads it (container mode), as a stock cloud image's cloud-init does.
 */
export type VmBoot =
  /** Our kernel and init; the root is the share tagged vroot. */
  | { kind: 'container'; seed: GuestSeed }
  /** The image's own kernel (and initrd): the root over virtiofs, or (a full VM, `root: 'disk'`) disks[0] as /dev/vda. */
  | { kind: 'kernel'; kernel: string; initrd?: string; init?: string; root?: 'virtiofs' | 'disk'; seed: GuestSeed }
  /** A full VM without a kernel of its own: the firmware boots disks[0]. */
  | { kind: 'disk'; seed: GuestSeed };

/**
 * Whether a VM's cloud-init disk lists its mounts: zos lists zmounts and volumes only for a
 * virtiofs root (container and kernel modes); a full VM's other disks are its own.
 */
export function listsMounts(boot: VmBoot): boolean {
  return boot.kind === 'container' || (boot.kind === 'kernel' && boot.root !== 'disk');
}

export interface VmNic {
  /** Host tap device; the caller attaches it to a bridge. */
  tap: string;
  mac: string;
  /** The network namespace holding the tap and its bridge; QEMU runs there to open it. */
  netns?: string;
  /** Bridge the tap joins when it is created. */
  bridge?: string;
}

export type Accel = 'tcg' | 'kvm';

export interface QemuPaths {
  dir: string;
  kernel: string;
  initramfs: string;
}

const MiB = 1024 * 1024;

/**
 * TCG's translated-code cache per VM, in MiB. QEMU's default (1 GiB, filled as the guest runs)
 * was most of a VM's private memory: measured on a 256 MiB guest at boot, QEMU's anonymous
 * memory is 75 MiB by default, 64 at 32 MiB, 46 at 16, 37 at 8, with boot times within the
 * noise of a loaded machine. A full cache is flushed and refilled, so CPU-heavy guests pay for
 * a small one: ZOS_VM_TB_SIZE (VmHostOptions.tbSizeMiB) sets another.
 */
export const DEFAULT_TB_SIZE_MIB = 16;

/** The QEMU command line for a spec (pure). The VM daemonizes; its console and QMP live in `dir`. */
export function qemuArgs(spec: VmSpec, accel: Accel, p: QemuPaths, tbSizeMiB = DEFAULT_TB_SIZE_MIB): string[] {
  const mem = Math.floor(spec.memoryBytes / MiB);
  const args = [
    '-name', `zos-vm:${spec.id}`,
    '-machine', 'q35,memory-backend=mem',
    '-accel', accel === 'tcg' ? `tcg,tb-size=${tbSizeMiB}${spec.cpu > 1 ? ',thread=multi' : ''}` : 'kvm',
    '-smp', String(spec.cpu),
    '-m', `${mem}M`,
    // vhost-user-fs needs guest memory the daemon can map.
    '-object', `memory-backend-memfd,id=mem,size=${mem}M,share=on`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-chardev', `file,id=con0,path=${p.dir}/console.log,append=on`, '-serial', 'chardev:con0',
    '-qmp', `unix:${p.dir}/qmp.sock,server=on,wait=off`,
    '-pidfile', `${p.dir}/qemu.pid`,
    '-daemonize',
  ];
  const cmdline = ['console=ttyS0', 'panic=-1', 'reboot=k', 'quiet'];
  if (spec.boot.kind === 'container') {
    args.push('-kernel', p.kernel, '-initrd', p.initramfs);
  } else if (spec.boot.kind === 'kernel') {
    args.push('-kernel', spec.boot.kernel);
    if (spec.boot.initrd) args.push('-initrd', spec.boot.initrd);
    cmdline.push('rw', ...(spec.boot.root === 'disk' ? ['root=/dev/vda'] : ['root=vroot', 'rootfstype=virtiofs', 'rootdelay=30']));
    if (spec.boot.init) cmdline.push(`init=${spec.boot.init}`);
  }
  if (spec.boot.kind !== 'disk') args.push('-append', cmdline.join(' '));
  spec.shares.forEach((s, i) => {
    args.push('-chardev', `socket,id=fs${i},path=${p.dir}/fs-${i}.sock`, '-device', `vhost-user-fs-pci,chardev=fs${i},tag=${s.tag}`);
  });
  spec.disks.forEach((d, i) => {
    args.push('-drive', `file=${d.path},format=raw,if=none,id=d${i}${d.readonly ? ',readonly=on' : ''}`, '-device', `virtio-blk-pci,drive=d${i}${i === 0 && spec.boot.kind === 'disk' ? ',bootindex=0' : ''}`);
  });
  // As zos: the seed disk follows the VM's own disks, read-only.
  args.push('-drive', `file=${p.dir}/cidata.img,format=raw,if=none,id=ci,readonly=on`, '-device', 'virtio-blk-pci,drive=ci');
  spec.nics.forEach((n, i) => {
    args.push('-netdev', `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n${i},mac=${n.mac}`);
  });
  return args;
}
