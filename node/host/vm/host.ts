import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';
import { runResult } from '../exec.ts';
import { writeSeedDisk } from './cidata.ts';
import { readFrom, rotate, tail } from './console.ts';
import { VmError } from './errors.ts';
import { DEFAULT_GUEST_KERNEL_DIR, guestKernel, type GuestKernel } from './guest.ts';
import { checkedBootFiles } from './image-files.ts';
import { probeAccel } from './probe.ts';
import { aliveWith, fileSize, readPid, removeFile, spawnDetached, terminate, waitFor } from './procs.ts';
import { Qmp } from './qmp.ts';
import { DEFAULT_TB_SIZE_MIB, listsMounts, qemuArgs, type Accel, type VmSpec } from './spec.ts';
import { deleteTap, ensureTap } from './taps.ts';

export interface VmHostOptions {
  /** Per-VM directories (spec, seed, console log, sockets, pid files). */
  dir: string;
  log: Logger;
  accel?: Accel | 'auto';
  kernelDir?: string;
  qemu?: string;
  virtiofsd?: string;
  /** zos: the 4th crash within 2 minutes gives up. */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** First restart delay; doubles per crash in the window. */
  restartBackoffMs?: number;
  monitorMs?: number;
  /** How long a container-mode boot may take to reach the guest init's `ready`. */
  readyTimeoutMs?: number;
  /** TCG translation cache per VM (see DEFAULT_TB_SIZE_MIB). */
  tbSizeMiB?: number;
  /** A VM the host gave up on (crash loop); `message` ends with the last console lines. */
  onFailure?: (id: string, message: string) => void;
}

export type VmState = 'running' | 'paused' | 'restarting' | 'failed';

interface Vm {
  spec: VmSpec;
  dir: string;
  pid?: number;
  qmp?: Qmp;
  state: VmState;
  crashes: number[];
  failure?: string;
  /** Serialises start/stop/restart of one VM. */
  busy?: Promise<unknown>;
}

export interface VmInfo extends Pick<VmSpec, 'type' | 'twin' | 'network' | 'ip'> {
  id: string;
  state: VmState;
  pid?: number;
  failure?: string;
  console: string;
  taps: string[];
}

const READY = 'zos-init: ready';

/**
 * QEMU VMs on this host, each with its virtiofsd daemons, taps, QMP socket and console log.
 * VMs outlive the node process: a restarted node adopts them (init) and never starts a second
 * QEMU for one id. A monitor restarts crashed VMs with backoff and gives up after repeated crashes.
 */
export class VmHost {
  private readonly vms = new Map<string, Vm>();
  private readonly opts: Required<Omit<VmHostOptions, 'onFailure' | 'kernelDir'>> & Pick<VmHostOptions, 'onFailure'> & { kernelDir: string };
  private guest?: Promise<GuestKernel>;
  private accel?: Promise<Accel>;
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(opts: VmHostOptions) {
    this.opts = {
      accel: 'auto',
      kernelDir: process.env.ZOS_GUEST_KERNEL ?? DEFAULT_GUEST_KERNEL_DIR,
      qemu: 'qemu-system-x86_64',
      virtiofsd: '/usr/lib/qemu/virtiofsd',
      maxCrashes: 4,
      crashWindowMs: 120_000,
      restartBackoffMs: 1000,
      monitorMs: 2000,
      readyTimeoutMs: 120_000,
      tbSizeMiB: DEFAULT_TB_SIZE_MIB,
      ...opts,
    };
  }

  private vmDir(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw new VmError('BAD_SPEC', `bad vm id '${id}'`);
    return join(this.opts.dir, id);
  }

  private kernel(): Promise<GuestKernel> {
    this.guest ??= guestKernel(this.opts.kernelDir, join(this.opts.dir, '.cache'));
    this.guest.catch(() => (this.guest = undefined));
    return this.guest;
  }

  private pickAccel(): Promise<Accel> {
    if (this.opts.accel !== 'auto') return Promise.resolve(this.opts.accel);
    this.accel ??= this.kernel().then((g) => probeAccel(this.opts.qemu, g, this.opts.log));
    return this.accel;
  }

  /** Adopt the VMs a previous node process left running; start the crash monitor (unless told not to). */
  async init(opts: { monitor?: boolean } = {}): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    for (const id of await readdir(this.opts.dir).catch(() => [] as string[])) {
      if (id.startsWith('.')) continue;
      const dir = join(this.opts.dir, id);
      const spec = await readFile(join(dir, 'spec.json'), 'utf8').then((s) => JSON.parse(s) as VmSpec, () => undefined);
      if (!spec || this.vms.has(id)) continue;
      const pid = await readPid(join(dir, 'qemu.pid'));
      const vm: Vm = { spec, dir, pid, state: 'running', crashes: [] };
      this.vms.set(id, vm);
      if (await aliveWith(pid, marker(id))) {
        vm.qmp = await Qmp.connect(join(dir, 'qmp.sock'), 5000).catch(() => undefined);
        if ((await vm.qmp?.status().catch(() => undefined)) === 'paused') vm.state = 'paused';
        this.opts.log.info({ vm: id, pid }, 'adopted running vm');
      } else {
        // After a host reboot its root overlay and taps are gone too: the workload's provision
        // (replayed at node start) rebuilds them and starts it again, or init stops it.
        vm.state = 'failed';
        vm.failure = 'vm was not running at node start';
        this.opts.log.warn({ vm: id }, vm.failure);
      }
    }
    if (opts.monitor !== false) this.monitor();
  }

  private monitor(): void {
    this.timer ??= setInterval(() => void this.tick(), this.opts.monitorMs);
    this.timer.unref();
  }

  /** Who hears about VMs the host gave up on (the node marks their workloads `error`). */
  setFailureHandler(fn: (id: string, message: string) => void): void {
    this.opts.onFailure = fn;
  }

  /** Stop monitoring (VMs keep running; a later init adopts them). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const vm of this.vms.values()) vm.qmp?.close();
  }

  info(id: string): VmInfo | undefined {
    const vm = this.vms.get(id);
    if (!vm) return undefined;
    const { type, twin, network, ip } = vm.spec;
    return { id, type, twin, network, ip, state: vm.state, pid: vm.pid, failure: vm.failure, console: join(vm.dir, 'console.log'), taps: vm.spec.nics.map((n) => n.tap) };
  }

  list(): VmInfo[] {
    return [...this.vms.keys()].map((id) => this.info(id)!);
  }

  consolePath(id: string): string {
    return join(this.vmDir(id), 'console.log');
  }

  consoleTail(id: string, bytes = 2048): Promise<string> {
    return tail(this.consolePath(id), bytes);
  }

  private serial<T>(vm: Vm, fn: () => Promise<T>): Promise<T> {
    const run = (vm.busy ?? Promise.resolve()).catch(() => undefined).then(fn);
    vm.busy = run;
    return run;
  }

  /**
   * Start a VM and wait until it runs (container mode: until the guest init says ready).
   * A VM already running under this id is left alone. On failure nothing of it keeps running
   * and the error ends with the console tail; its directory stays for stop() to clean.
   */
  async start(spec: VmSpec): Promise<VmInfo> {
    const dir = this.vmDir(spec.id);
    let vm = this.vms.get(spec.id);
    if (vm && vm.state !== 'failed' && (await aliveWith(vm.pid, marker(spec.id)))) return this.info(spec.id)!;
    if (!vm) {
      vm = { spec, dir, state: 'restarting', crashes: [] };
      this.vms.set(spec.id, vm);
    }
    this.monitor();
    const v = vm;
    v.spec = spec;
    v.failure = undefined;
    v.crashes = [];
    await this.serial(v, async () => {
      await mkdir(dir, { recursive: true });
      await writeFileDurably(join(dir, 'spec.json'), JSON.stringify(spec, null, 2));
      await this.launch(v);
    });
    return this.info(spec.id)!;
  }

  private async launch(vm: Vm): Promise<void> {
    const { spec, dir } = vm;
    vm.state = 'restarting';
    await this.killProcesses(vm);
    try {
      const [guest, accel] = await Promise.all([this.kernel(), this.pickAccel()]);
      // The YAML library loads with the first VM, not with every node (issue 16, memory).
      const { renderCloudInit } = await import('./cloudinit.ts');
      await writeSeedDisk(join(dir, 'cidata.img'), renderCloudInit(spec.id, spec.boot.seed, listsMounts(spec.boot)), this.opts.log);
      for (const nic of spec.nics) await ensureTap(nic, this.opts.log);
      await Promise.all(spec.shares.map((s, i) => this.startVirtiofsd(vm, s.path, i)));
      const consoleFile = join(dir, 'console.log');
      const offset = await fileSize(consoleFile);
      const args = qemuArgs(await checkedBootFiles(spec), accel, { dir, ...guest }, this.opts.tbSizeMiB);
      const netns = spec.nics.find((n) => n.netns)?.netns;
      const [cmd, argv] = netns ? ['ip', ['netns', 'exec', netns, this.opts.qemu, ...args]] : [this.opts.qemu, args];
      const r = await runResult(cmd, argv, { log: this.opts.log, timeoutMs: 30_000 });
      if (r.exitCode !== 0) throw new VmError('START_FAILED', `qemu failed to start: ${r.stderr || `exit code ${r.exitCode}`}`);
      vm.pid = await readPid(join(dir, 'qemu.pid'));
      vm.qmp?.close();
      vm.qmp = await Qmp.connect(join(dir, 'qmp.sock'));
      if (spec.boot.kind === 'container') await this.waitReady(vm, consoleFile, offset);
      vm.state = 'running';
      this.opts.log.info({ vm: spec.id, pid: vm.pid, accel }, 'vm running');
    } catch (err) {
      await this.killProcesses(vm);
      vm.state = 'failed';
      const log = await tail(join(dir, 'console.log'));
      const msg = err instanceof Error ? err.message : String(err);
      vm.failure = log ? `${log}: ${msg}` : msg;
      throw new VmError(err instanceof VmError ? err.code : 'START_FAILED', vm.failure, { cause: err });
    }
  }

  private async waitReady(vm: Vm, consoleFile: string, offset: number): Promise<void> {
    let seen = '';
    const ok = await waitFor(async () => {
      seen = await readFrom(consoleFile, offset);
      return seen.includes(READY) || /zos-init: error/.test(seen) || !(await aliveWith(vm.pid, marker(vm.spec.id)));
    }, this.opts.readyTimeoutMs, 100);
    if (seen.includes(READY)) return;
    const guestError = /zos-init: error: (.*)/.exec(seen)?.[1];
    if (guestError) throw new VmError('START_FAILED', `guest init failed: ${guestError}`);
    throw new VmError('START_FAILED', ok ? 'vm stopped while booting' : `vm did not boot within ${this.opts.readyTimeoutMs} ms`);
  }

  private async startVirtiofsd(vm: Vm, source: string, i: number): Promise<void> {
    const sock = join(vm.dir, `fs-${i}.sock`);
    // A daemon that served a previous boot leaves its socket behind; QEMU would get ECONNREFUSED.
    await removeFile(sock);
    const pid = spawnDetached(this.opts.virtiofsd, ['-f', `--socket-path=${sock}`, '-o', `source=${source}`, '-o', 'cache=auto', '-o', 'log_level=warn'], join(vm.dir, 'virtiofsd.log'));
    await writeFile(join(vm.dir, `fs-${i}.pid`), String(pid));
    if (!(await waitFor(() => stat(sock).then(() => true, () => false), 5000))) {
      throw new VmError('START_FAILED', `virtiofsd for ${source} did not start: ${await tail(join(vm.dir, 'virtiofsd.log'), 512)}`);
    }
  }

  /** QEMU and the virtiofsd daemons of a VM, whichever are alive. */
  private async killProcesses(vm: Vm): Promise<void> {
    vm.qmp?.close();
    vm.qmp = undefined;
    await terminate(vm.pid ?? (await readPid(join(vm.dir, 'qemu.pid'))), marker(vm.spec.id));
    await Promise.all(
      vm.spec.shares.map(async (_, i) => terminate(await readPid(join(vm.dir, `fs-${i}.pid`)), join(vm.dir, `fs-${i}.sock`), 1000)),
    );
  }

  /** Stop the VM and remove everything the host made for it (processes, taps, its directory). */
  async stop(id: string): Promise<void> {
    const dir = this.vmDir(id);
    let vm = this.vms.get(id);
    if (!vm) {
      const spec = await readFile(join(dir, 'spec.json'), 'utf8').then((s) => JSON.parse(s) as VmSpec, () => undefined);
      if (!spec) return void (await rm(dir, { recursive: true, force: true }));
      vm = { spec, dir, state: 'running', crashes: [] };
      this.vms.set(id, vm);
    }
    const v = vm;
    await this.serial(v, async () => {
      v.state = 'failed';
      v.failure = 'stopped';
      await v.qmp?.execute('quit', undefined, 2000).catch(() => undefined);
      await this.killProcesses(v);
      for (const nic of v.spec.nics) await deleteTap(nic, this.opts.log);
      await rm(dir, { recursive: true, force: true });
      this.vms.delete(id);
    });
  }

  async pause(id: string): Promise<void> {
    const vm = this.must(id);
    await this.serial(vm, async () => {
      await vm.qmp?.execute('stop');
      vm.state = 'paused';
    });
  }

  async resume(id: string): Promise<void> {
    const vm = this.must(id);
    await this.serial(vm, async () => {
      await vm.qmp?.execute('cont');
      vm.state = 'running';
    });
  }

  private must(id: string): Vm {
    const vm = this.vms.get(id);
    if (!vm || !vm.qmp) throw new VmError('NOT_FOUND', `vm ${id} is not running`);
    return vm;
  }

  /** One monitor pass: rotate logs, restart crashed VMs with backoff, give up after too many crashes. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const vm of this.vms.values()) {
        if (vm.state !== 'running' && vm.state !== 'paused') continue;
        await rotate(join(vm.dir, 'console.log')).catch(() => false);
        if (await aliveWith(vm.pid, marker(vm.spec.id))) continue;
        await this.crashed(vm);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async crashed(vm: Vm): Promise<void> {
    const now = Date.now();
    vm.crashes = [...vm.crashes.filter((t) => now - t < this.opts.crashWindowMs), now];
    const n = vm.crashes.length;
    this.opts.log.warn({ vm: vm.spec.id, crashes: n }, 'vm stopped unexpectedly');
    if (n >= this.opts.maxCrashes) return this.giveUp(vm, `vm crashed ${n} times within ${Math.round(this.opts.crashWindowMs / 1000)} s`);
    vm.state = 'restarting';
    void this.serial(vm, async () => {
      await new Promise((r) => setTimeout(r, this.opts.restartBackoffMs * 2 ** (n - 1)));
      if (!this.vms.has(vm.spec.id) || vm.state !== 'restarting') return;
      try {
        await this.launch(vm);
      } catch (err) {
        vm.state = 'running'; // let the next tick count this failed restart as a crash
        vm.pid = undefined;
        this.opts.log.warn({ vm: vm.spec.id, err: (err as Error).message }, 'vm restart failed');
      }
    });
  }

  private async giveUp(vm: Vm, reason: string): Promise<void> {
    await this.killProcesses(vm);
    const log = await tail(join(vm.dir, 'console.log'));
    vm.state = 'failed';
    vm.failure = log ? `${log}: ${reason}` : reason;
    this.opts.log.error({ vm: vm.spec.id, reason }, 'vm given up');
    this.opts.onFailure?.(vm.spec.id, vm.failure);
  }
}

function marker(id: string): string {
  return `zos-vm:${id}`;
}

/** Stop every VM a node with this VM directory left (processes, taps, directories): for whoever retires a node for good. */
export async function stopStoredVms(dir: string, log: Logger): Promise<void> {
  if (!(await stat(dir).then(() => true, () => false))) return;
  const host = new VmHost({ dir, log });
  try {
    await host.init({ monitor: false });
    for (const v of host.list()) await host.stop(v.id);
  } finally {
    host.close();
  }
}
