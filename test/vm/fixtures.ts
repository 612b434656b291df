import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { buildBaseRoot } from '../../image/base.ts';
import { DirStore, openImageStore } from '../../image/index.ts';
import { DEFAULT_GUEST_KERNEL_DIR } from '../../node/host/vm/guest.ts';
import { requireHost } from '../helpers/host.ts';
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
