import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import { bundleInit, NAPI_PACKAGES } from './bundle.ts';
import type { GuestKernel } from './kernel.ts';
import { BOOT_MODULES, ON_DEMAND_MODULES, moduleClosure } from './modules.ts';
import { INIT_PATH, KERNEL_PATH, MOUNT_POINTS, RELEASE_PATH, VM_GUEST_KERNEL_DIR } from './layout.ts';
import { guestKernel, PREBUILT_INITRAMFS } from '../node/host/vm/guest.ts';
import { imagePath, imagePrograms, isScript, locateProgram, sharedLibraries, type SourceScan } from './programs.ts';

/**
 * Assembles the OS root file system in a directory: merged /usr, the Node.js runtime, the init +
 * node daemon bundle, the programs the node runs with their libraries, kernel modules and the
 * kernel itself (so one image digest names a whole release). No shell is ever copied.
 */

/** Fixed mtime of every entry (whole seconds: cpio has no sub-second field); builds are reproducible. */
export const EPOCH_S = 1_735_689_600; // 2025-01-01T00:00:00Z

const QEMU_DATA = ['bios-256k.bin', 'bios-microvm.bin', 'linuxboot.bin', 'linuxboot_dma.bin', 'pvh.bin', 'kvmvapic.bin', 'multiboot_dma.bin', 'efi-virtio.rom', 'vgabios-stdvga.bin', 'qboot.rom'];

export interface StageOptions {
  repo: string;
  kernel: GuestKernel;
  release: string;
  log?: (msg: string) => void;
}

export interface StageResult {
  programs: string[];
  /** Programs the node runs that the image could not carry. */
  missing: Array<{ cmd: string; why: string }>;
  scan: SourceScan;
  /** Repo-relative sources bundled into the init. */
  inputs: string[];
  libraries: string[];
  modules: string[];
}

async function put(root: string, rel: string, from: string): Promise<void> {
  const dest = join(root, rel);
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(from, dest);
}

async function link(root: string, rel: string, target: string): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await symlink(target, join(root, rel));
}

/** A host file at its image path; a symlink on the host becomes a relative symlink to its real file, copied too. */
async function putHostFile(root: string, hostPath: string): Promise<void> {
  const rel = imagePath(hostPath);
  if (await lstat(join(root, rel)).catch(() => null)) return;
  const real = await realpath(hostPath);
  const realRel = imagePath(real);
  if (realRel !== rel) {
    await link(root, rel, relative(dirname(`/${rel}`), `/${realRel}`));
    if (await lstat(join(root, realRel)).catch(() => null)) return;
  }
  await put(root, realRel, real);
}

export async function stageRoot(root: string, o: StageOptions): Promise<StageResult> {
  const log = o.log ?? (() => {});
  // root/: the kernel creates it in the initramfs before init runs, so the image holds it.
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib/zos', 'usr/lib64', 'etc', 'var', 'boot', 'root', ...MOUNT_POINTS]) await mkdir(join(root, d), { recursive: true });
  for (const [name, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['var/run', '../run'], ['etc/resolv.conf', '../run/resolv.conf'], ['init', INIT_PATH]] as const) {
    await link(root, name, target);
  }
  await writeFile(join(root, RELEASE_PATH), `${o.release}\n`);
  // lib/paths.ts takes the folder of the nearest package.json above the bundle as the root
  // (node/api/system.ts reads the version there): usr/lib/zos/package.json, name and version only,
  // and "module" so the worker modules bundled there as .js (os/bundle.ts) load as ES modules.
  const pkg = JSON.parse(await readFile(join(o.repo, 'package.json'), 'utf8')) as { name: string; version: string };
  await writeFile(join(root, 'usr/lib/zos/package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module' })}\n`);
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  await writeFile(join(root, 'etc/os-release'), `NAME="Zero-OS (TypeScript)"\nID=zos\nVERSION_ID="${o.release}"\n`);

  log('bundling the init and node daemon');
  const elves: string[] = [process.execPath];
  await put(root, 'usr/bin/node', process.execPath);
  const inputs = await bundleInit(join(root, INIT_PATH));
  await chmod(join(root, INIT_PATH), 0o755);
  elves.push(...(await copyNativeDeps(o.repo, join(root, 'usr/lib/zos'))));

  const wanted = await imagePrograms(o.repo, inputs);
  const { scan } = wanted;
  // A program the node runs that this host lacks, or that is a script (no interpreter in the
  // image), stays out and is listed: the node then gets the exec error, as zos does for a missing tool.
  const programs: string[] = [];
  const missing: Array<{ cmd: string; why: string }> = [];
  for (const cmd of wanted.programs) {
    const host = await locateProgram(cmd).catch(() => null);
    if (!host) missing.push({ cmd, why: 'not installed on the build host' });
    else if (await isScript(host)) missing.push({ cmd, why: `${host} is a script` });
    else {
      await putHostFile(root, host);
      elves.push(await realpath(host));
      programs.push(cmd);
    }
  }
  log(`programs: ${programs.join(' ')}${missing.length ? `; left out: ${missing.map((m) => `${m.cmd} (${m.why})`).join(', ')}` : ''}`);
  const libraries = await sharedLibraries(elves);
  for (const lib of libraries) await putHostFile(root, lib);

  if (programs.includes('qemu-system-x86_64')) {
    for (const f of QEMU_DATA) {
      const src = join('/usr/share/qemu', f);
      if (await lstat(src).catch(() => null)) await put(root, join('usr/share/qemu', f), await realpath(src));
    }
  }

  log(`kernel ${o.kernel.version} and modules`);
  await put(root, KERNEL_PATH, o.kernel.vmlinuz);
  const closure = await moduleClosure(o.kernel.modulesDir, [...BOOT_MODULES, ...ON_DEMAND_MODULES]);
  const modRoot = join(root, 'usr/lib/modules', o.kernel.version);
  for (const rel of closure.paths.values()) await put(modRoot, rel, join(o.kernel.modulesDir, rel));
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) await put(modRoot, f, join(o.kernel.modulesDir, f));
  const dm = await execa('depmod', ['-b', root, o.kernel.version], { reject: false });
  if (dm.exitCode !== 0) throw new Error(`depmod: ${dm.stderr.trim()}`);

  // VMs inside the OS boot the OS's own kernel (a link: no second copy) with the guest initramfs
  // built here, where busybox is: it only ever runs inside a VM, as the guest's init, and the OS
  // has no program that could unpack or run it.
  const vmGuest = await guestKernel(o.kernel.dir, join(root, '..', 'vm-guest'));
  await put(root, join(VM_GUEST_KERNEL_DIR, PREBUILT_INITRAMFS), vmGuest.initramfs);
  await link(root, join(VM_GUEST_KERNEL_DIR, 'vmlinuz'), relative(`/${VM_GUEST_KERNEL_DIR}`, `/${KERNEL_PATH}`));

  await normalize(root);
  return { programs, missing, scan, inputs, libraries, modules: closure.order };
}

/** Native addons the bundle loads with require(): copied as packages next to it. */
async function copyNativeDeps(repo: string, dest: string): Promise<string[]> {
  const nm = join(repo, 'node_modules');
  const addon = 'better-sqlite3/build/Release/better_sqlite3.node';
  const files = ['better-sqlite3/package.json', addon, 'bindings/package.json', 'bindings/bindings.js', 'file-uri-to-path/package.json', 'file-uri-to-path/index.js'];
  for (const f of await readdir(join(nm, 'better-sqlite3/lib'), { recursive: true })) {
    if (f.endsWith('.js')) files.push(`better-sqlite3/lib/${f}`);
  }
  // napi-rs packages: a loader that requires the package built for this platform (the build host's).
  const addons = [join(nm, addon)];
  for (const pkg of NAPI_PACKAGES) {
    files.push(`${pkg}/package.json`, `${pkg}/index.js`);
    const platform = `${pkg}-${process.platform}-${process.arch}-gnu`;
    files.push(`${platform}/package.json`);
    for (const f of await readdir(join(nm, platform))) {
      if (!f.endsWith('.node')) continue;
      files.push(`${platform}/${f}`);
      addons.push(join(nm, platform, f));
    }
  }
  // zstd for image chunks: image/chunk-codec.ts imports only zstd-napi's thin binding (binding.js
  // requires build/Release/binding.node).
  const zstd = 'zstd-napi/build/Release/binding.node';
  files.push('zstd-napi/package.json', 'zstd-napi/binding.js', zstd);
  addons.push(join(nm, zstd));
  // Our own addon (native/): syncfs(2) for image stores and trees (lib/durable.ts), malloc_trim
  // for the daemon (lib/memory.ts). With it the image needs no `sync` program.
  const ours = 'zos-native/build/Release/zos_native.node';
  files.push('zos-native/package.json', 'zos-native/index.cjs', ours);
  addons.push(join(nm, ours));
  // libsodium for RMB's ed25519 (rmb/ed25519.ts requires sodium-native from beside init; without
  // it the node falls back to OpenSSL's ed25519): its loader packages and this platform's prebuild.
  const sodium = `sodium-native/prebuilds/${process.platform}-${process.arch}/sodium-native.node`;
  files.push('sodium-native/package.json', 'sodium-native/index.js', sodium);
  addons.push(join(nm, sodium));
  for (const pkg of SODIUM_LOADER_PACKAGES) {
    files.push(`${pkg}/package.json`);
    for (const f of await readdir(join(nm, pkg), { recursive: true })) {
      if (f.endsWith('.js') && !f.startsWith('node_modules/')) files.push(`${pkg}/${f}`);
    }
  }
  for (const f of files) await put(join(dest, 'node_modules'), f, join(nm, f));
  return addons;
}

/** What sodium-native's index.js loads to find its prebuild (plain CommonJS, no addons of their own). */
const SODIUM_LOADER_PACKAGES = ['require-addon', 'bare-addon-resolve', 'bare-module-resolve', 'bare-semver'];

/** Root-owned, no group/world write, no set-id bits, one fixed mtime: the tree is the same on every build host. */
async function normalize(root: string): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const walk = async (abs: string): Promise<void> => {
    const st = await lstat(abs);
    if (st.isDirectory()) for (const name of await readdir(abs)) await walk(join(abs, name));
    if (asRoot) await lchown(abs, 0, 0);
    if (!st.isSymbolicLink()) await chmod(abs, st.isDirectory() ? 0o755 : st.mode & 0o755);
    await lutimes(abs, EPOCH_S, EPOCH_S);
  };
  await walk(root);
}
