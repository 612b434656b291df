import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../lib/paths.ts';
import { buildImage } from '../image/build.ts';
import { DirStore } from '../image/store/dir-store.ts';
import { findGuestKernel } from './kernel.ts';
import { treeContent, writeInitramfs } from './initramfs.ts';
import { stageRoot } from './stage.ts';
import { OS_IMAGE_TAG } from './layout.ts';

/**
 * `zos os build`: the OS root assembled, built as a content-addressed image into OUT/store
 * (tag `zos-os`), and the boot artefacts: OUT/vmlinuz and OUT/initrd.img made from that image.
 * OUT/boot.json says which image digest the kernel command line must carry.
 */
export const REPO = REPO_ROOT;

export interface BootInfo {
  /** BLAKE3 of the root manifest (hex); the kernel command line carries it as zos_root=blake3:<hex>. */
  digest: string;
  release: string;
  kernel: string;
  files: number;
  bytes: number;
  initrdBytes: number;
  programs: string[];
  /** Programs the node runs that are not in the image (absent on the build host, or scripts). */
  missing: Array<{ cmd: string; why: string }>;
  /** Node sources that run a program through a shell: that program cannot run in the OS. */
  shellUsers: string[];
  modules: string[];
}

export interface OsBuildOptions {
  out: string;
  /** Release label written to /etc/zos-release (default: package version). */
  release?: string;
  /** Build into this store instead of OUT/store (e.g. a node's store, for dedup figures). */
  store?: string;
  log?: (msg: string) => void;
}

export async function buildOs(o: OsBuildOptions): Promise<BootInfo & { newChunkBytes: number }> {
  const out = resolve(o.out);
  const log = o.log ?? (() => {});
  await mkdir(out, { recursive: true });
  const kernel = await findGuestKernel();
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const release = o.release ?? pkg.version;
  const staging = await mkdtemp(join(out, '.staging-'));
  const store = await DirStore.open(o.store ?? join(out, 'store'));
  try {
    const staged = await stageRoot(join(staging, 'root'), { repo: REPO, kernel, release, log });
    log('building the root image');
    const img = await buildImage(join(staging, 'root'), { store, tag: OS_IMAGE_TAG, xattrs: 'skip' });
    log(`image blake3:${img.digest}: ${img.files} files, ${img.bytes} bytes`);
    const manifestBytes = await store.getManifest(img.digest);
    const { bytes: initrdBytes } = await writeInitramfs(treeContent(join(staging, 'root')), img.manifest, manifestBytes, join(out, 'initrd.img'));
    await copyFile(kernel.vmlinuz, join(out, 'vmlinuz'));
    const info: BootInfo = {
      digest: img.digest, release, kernel: kernel.version, files: img.files, bytes: img.bytes, initrdBytes,
      programs: staged.programs, missing: staged.missing, shellUsers: staged.scan.shellUsers, modules: staged.modules,
    };
    await writeFile(join(out, 'boot.json'), `${JSON.stringify(info, null, 2)}\n`);
    return { ...info, newChunkBytes: img.newChunkBytes };
  } finally {
    await store.close();
    await rm(staging, { recursive: true, force: true });
  }
}

export async function readBootInfo(dir: string): Promise<BootInfo> {
  return JSON.parse(await readFile(join(resolve(dir), 'boot.json'), 'utf8')) as BootInfo;
}
