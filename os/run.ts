import { open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { formatBootConfig, type BootConfig, type NetConfig } from './init/config.ts';
import { readBootInfo } from './build.ts';

/**
 * `zos os run`: boots a built image in QEMU (TCG) with QEMU user-mode networking and no host
 * forward (the node only dials out), a cache disk, and the configuration on the kernel command
 * line. Host URLs are rewritten for the guest: loopback is 10.0.2.2 there.
 */
export const GUEST_HOST = '10.0.2.2';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '[::1]', '::1']);

/** A host URL as the guest must dial it. */
export function guestUrl(url: string): string {
  const u = new URL(url);
  if (LOOPBACK.has(u.hostname) || u.hostname.startsWith('127.')) u.hostname = GUEST_HOST;
  return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}

export interface OsRunOptions {
  image: string;
  farm: number;
  chain: string[];
  relay: string[];
  activation?: string;
  cacheDisk: string;
  /** Size of a cache disk file that does not exist yet (sparse). */
  cacheDiskSize?: number;
  memoryMb?: number;
  cpus?: number;
  net?: NetConfig;
  logLevel?: string;
  /** Where the guest console goes, line by line. */
  onConsole?: (line: string) => void;
  /** Boot this initramfs instead of the image's (tests: the image's with a tampered archive appended). */
  initrd?: string;
  /** Image store URL (as the host sees it) that releases named on chain are pulled from. */
  hub?: string;
  /** Seconds between checks of the release on chain (default 600). */
  releaseCheckS?: number;
}

/**
 * SSE4.2 without AVX: V8 and the BLAKE3 wasm run faster than on the default qemu64 model, and
 * TCG's AVX emulation (new in QEMU 7.2) crashed node once under `-cpu max`.
 */
const CPU = 'Nehalem';

export function qemuArgs(o: { kernel: string; initrd: string; cacheDisk: string; memoryMb: number; cpus: number; cmdline: string[] }): string[] {
  return [
    '-machine', 'q35', '-accel', 'tcg,thread=multi', '-cpu', CPU, '-smp', String(o.cpus), '-m', String(o.memoryMb),
    '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
    '-kernel', o.kernel, '-initrd', o.initrd,
    '-drive', `file=${o.cacheDisk},format=raw,if=none,id=cache,cache=unsafe`, '-device', 'virtio-blk-pci,drive=cache',
    // User-mode networking, no hostfwd: nothing on the host can reach into the guest.
    '-netdev', 'user,id=net0', '-device', 'virtio-net-pci,netdev=net0',
    '-append', ['console=ttyS0', 'panic=-1', 'quiet', ...o.cmdline].join(' '),
  ];
}

export interface OsVm {
  proc: ResultPromise;
  /** Resolves on `ready node N twin T`; rejects when the boot is refused or QEMU exits first. */
  ready: Promise<{ nodeId: number; twinId: number }>;
  /** Everything the console printed so far. */
  console(): string;
  /** Resolves with the first console match of `re` (rejects if QEMU exits first). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Power off (QEMU killed: the guest gets no warning, like a power cut). */
  stop(): Promise<void>;
}

/** The init's own lines and the last kernel lines: enough to say why a boot stopped. */
function consoleSummary(text: string): string {
  const lines = text.split('\n');
  return [...lines.filter((l) => /^zos: |node daemon failed/.test(l)), '...', ...lines.slice(-40)].join('\n');
}

export class BootRefusedError extends Error {
  override readonly name = 'BootRefusedError';
}

async function ensureDisk(path: string, size: number): Promise<void> {
  if (await stat(path).catch(() => null)) return;
  const fh = await open(path, 'wx', 0o600);
  await fh.truncate(size).finally(() => fh.close());
}

export async function bootOs(o: OsRunOptions): Promise<OsVm> {
  const dir = resolve(o.image);
  const info = await readBootInfo(dir);
  await ensureDisk(o.cacheDisk, o.cacheDiskSize ?? 16 * 2 ** 30);
  const cfg: BootConfig = {
    root: info.digest, farm: o.farm, chain: o.chain.map(guestUrl), relay: o.relay.map(guestUrl),
    ...(o.activation ? { activation: guestUrl(o.activation) } : {}),
    net: o.net ?? { mode: 'dhcp' }, poolSize: '128G', logLevel: o.logLevel ?? 'warn',
    ...(o.hub ? { hub: guestUrl(o.hub) } : {}), releaseCheckS: o.releaseCheckS ?? 600,
  };
  const args = qemuArgs({
    kernel: join(dir, 'vmlinuz'), initrd: o.initrd ?? join(dir, 'initrd.img'), cacheDisk: resolve(o.cacheDisk),
    // one vCPU: with two under multi-threaded TCG node crashed at random here (a kernel oops in
    // PID 1, BLAKE3 wasm 'memory access out of bounds'); one vCPU booted three times in a row
    memoryMb: o.memoryMb ?? 3072, cpus: o.cpus ?? 1, cmdline: formatBootConfig(cfg),
  });
  const proc = execa('qemu-system-x86_64', args, { reject: false, stdin: 'ignore', stderr: 'pipe', stdout: 'pipe', buffer: false });
  let text = '';
  let pending = '';
  const waiters = new Set<{ re: RegExp; resolve: (m: RegExpExecArray) => void }>();
  proc.stdout!.on('data', (d: Buffer) => {
    const s = d.toString('utf8').replace(/\r/g, '');
    text += s;
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) o.onConsole?.(l);
    for (const w of waiters) {
      const m = w.re.exec(text);
      if (m) {
        waiters.delete(w);
        w.resolve(m);
      }
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = Promise.resolve(proc).then((r) => r.exitCode);
  const waitFor = (re: RegExp, timeoutMs = 600_000) =>
    new Promise<RegExpExecArray>((res, rej) => {
      const m = re.exec(text);
      if (m) return res(m);
      const timer = setTimeout(() => {
        waiters.delete(w);
        rej(new Error(`timed out after ${timeoutMs} ms waiting for ${re} on the console`));
      }, timeoutMs);
      const w = { re, resolve: (x: RegExpExecArray) => (clearTimeout(timer), res(x)) };
      waiters.add(w);
      void exited.then((code) => {
        if (!waiters.has(w)) return;
        waiters.delete(w);
        clearTimeout(timer);
        const refused = /zos: boot refused: (.*)/.exec(text);
        rej(refused ? new BootRefusedError(refused[1]!) : new Error(`QEMU exited (${code}) before ${re}${stderr ? `: ${stderr.trim()}` : ''}; console:\n${consoleSummary(text)}`));
      });
    });
  const ready = waitFor(/ready node (\d+) twin (\d+)/).then((m) => ({ nodeId: Number(m[1]), twinId: Number(m[2]) }));
  ready.catch(() => {});
  return {
    proc, ready, waitFor,
    console: () => text,
    async stop() {
      if (proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
      await exited;
    },
  };
}
