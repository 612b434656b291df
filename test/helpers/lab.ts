import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { execa, type Options, type ResultPromise } from 'execa';

/**
 * A test lab of network namespaces, for tests that need more than one machine:
 *
 *   <id>-inet   the "internet": one bridge (br0); every other host has one veth on it
 *   <id>-svc    services (devnet, relay)            198.18.0.2
 *   <id>-n1..   one namespace per node               198.18.0.11, .12, ...
 *   <id>-lap    the user's laptop                    198.18.0.100
 *
 * Addresses come from the benchmarking range 198.18.0.0/15 (plus, on request, a public-looking
 * one per node for grid_client's access-node filter); there is no link to the host's network
 * and no default route out. Labs of concurrent runs never meet (each is its own L2 world), and
 * names carry a random id. close() kills every process left in the lab's namespaces (and the
 * network resources a node made, found through its veth peers) and deletes the namespaces.
 *
 * The test process itself stays in the host namespace; it reaches a service inside the lab
 * through `forward()`: a loopback port relayed over a unix socket into the services namespace
 * (a unix socket crosses namespaces without any route between them).
 */

export const LAB_NET = '198.18.0.0/24';
const TAIL_LINES = 40;
export const SERVICES_IP = '198.18.0.2';
export const LAPTOP_IP = '198.18.0.100';
export const nodeIp = (i: number) => `198.18.0.${11 + i}`;

export interface LabHost {
  /** Role name: `svc`, `n1`, `lap`. */
  role: string;
  /** The network namespace (under /run/netns). */
  ns: string;
  /** The host's lab address. */
  ip: string;
}

export interface LabOptions {
  nodes?: number;
  /** A public-looking IPv4 (/32 beside the lab address) for node i, e.g. for grid_client's access-node check. */
  publicIps?: Record<number, string>;
}

export class Lab {
  readonly id = `zl${randomBytes(3).toString('hex')}`;
  readonly internet = `${this.id}-inet`;
  services!: LabHost;
  laptop!: LabHost;
  readonly nodes: LabHost[] = [];
  dir = '';
  private readonly hosts: LabHost[] = [];
  private readonly procs: ResultPromise[] = [];
  private readonly servers: Server[] = [];
  /** The last lines each spawned process printed (see reportOnFailure). */
  private readonly tails: Array<{ label: string; lines: string[] }> = [];

  /** Creates the namespaces and links; undoes what it made when a step fails. */
  async start(o: LabOptions = {}): Promise<this> {
    try {
      this.dir = await mkdtemp(join(tmpdir(), `${this.id}-`));
      await ns(['add', this.internet]);
      await ip(this.internet, ['link', 'add', 'br0', 'type', 'bridge']);
      await ip(this.internet, ['link', 'set', 'br0', 'up']);
      this.services = await this.addHost('svc', SERVICES_IP);
      for (let i = 0; i < (o.nodes ?? 0); i++) {
        const h = await this.addHost(`n${i + 1}`, nodeIp(i));
        const pub = o.publicIps?.[i];
        if (pub) await ip(h.ns, ['addr', 'add', `${pub}/32`, 'dev', 'eth0']);
        this.nodes.push(h);
      }
      this.laptop = await this.addHost('lap', LAPTOP_IP);
      if (o.publicIps) await this.routePublicIps(o.publicIps);
    } catch (err) {
      await this.close();
      throw err;
    }
    return this;
  }

  /** Adds a host namespace with one veth on the internet bridge. */
  async addHost(role: string, addr: string): Promise<LabHost> {
    const h: LabHost = { role, ns: `${this.id}-${role}`, ip: addr };
    await ns(['add', h.ns]);
    this.hosts.push(h);
    await ip(h.ns, ['link', 'set', 'lo', 'up']);
    await ip(this.internet, ['link', 'add', `p-${role}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
    await ip(this.internet, ['link', 'set', `p-${role}`, 'master', 'br0', 'up']);
    await ip(h.ns, ['addr', 'add', `${addr}/24`, 'dev', 'eth0']);
    await ip(h.ns, ['link', 'set', 'eth0', 'up']);
    return h;
  }

  /** Every lab host reaches the nodes' public-looking addresses directly on the bridge. */
  private async routePublicIps(publicIps: Record<number, string>): Promise<void> {
    for (const h of this.hosts) {
      for (const [i, pub] of Object.entries(publicIps)) {
        if (h !== this.nodes[Number(i)]) await ip(h.ns, ['route', 'add', `${pub}/32`, 'via', nodeIp(Number(i))]);
      }
    }
  }

  /** Runs a command in a lab host's network namespace (nsenter: the mount namespace stays the host's). */
  async exec(h: LabHost | string, cmd: string, args: string[], opts: { reject?: boolean; timeoutMs?: number } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const r = await execa('nsenter', [`--net=/run/netns/${typeof h === 'string' ? h : h.ns}`, cmd, ...args], { reject: opts.reject ?? true, timeout: opts.timeoutMs ?? 60_000 });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  /** Starts a long-running process in a lab host; close() stops it. */
  spawn(h: LabHost, cmd: string, args: string[], opts: Options = {}): ResultPromise {
    const p = execa('nsenter', [`--net=/run/netns/${h.ns}`, cmd, ...args], { reject: false, ...opts }) as ResultPromise;
    this.procs.push(p);
    const tail = { label: `${h.role}: ${basename(cmd)} ${args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ').slice(0, 60)}`, lines: [] as string[] };
    this.tails.push(tail);
    for (const stream of [p.stdout, p.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        tail.lines.push(...String(chunk).split('\n').filter(Boolean));
        tail.lines.splice(0, tail.lines.length - TAIL_LINES);
      });
    }
    return p;
  }

  /**
   * When the test fails, prints the last lines every lab process (devnet, relay, nodes, servers)
   * printed, before close() ends them: a failure on a CI machine can only be understood from the
   * log, and nodes log warnings and errors there.
   */
  reportOnFailure(t: TestContext): void {
    t.after(() => {
      if (!testFailed(t)) return;
      for (const { label, lines } of this.tails) {
        if (lines.length > 0) process.stderr.write(`--- ${this.id} ${label}: last ${lines.length} lines\n${lines.join('\n')}\n`);
      }
    });
  }

  /**
   * A `127.0.0.1:<port>` URL base in the test process that reaches `host:port` inside the
   * services namespace (through a unix socket and a small relay process in that namespace).
   */
  async forward(port: number, target = SERVICES_IP): Promise<number> {
    const sock = join(this.dir, `fwd-${port}.sock`);
    const code = `const n=require('net');n.createServer(c=>{const u=n.connect(${port},'${target}');c.pipe(u).pipe(c);u.on('error',()=>c.destroy());c.on('error',()=>u.destroy())}).listen(process.argv[1],()=>console.log('ready'))`;
    const relay = this.spawn(this.services, process.execPath, ['-e', code, sock]);
    await waitOutput(relay, /ready/);
    const srv = createServer((c) => {
      const u = connect(sock);
      c.pipe(u).pipe(c);
      u.on('error', () => c.destroy());
      c.on('error', () => u.destroy());
    });
    this.servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return (srv.address() as { port: number }).port;
  }

  /** Starts tcpdump on the internet bridge; stop() returns the raw capture (pcap bytes). */
  async capture(filter: string[] = []): Promise<{ stop(): Promise<Buffer> }> {
    const file = join(this.dir, `cap-${Date.now()}.pcap`);
    const p = this.spawn({ role: 'inet', ns: this.internet, ip: '' }, 'tcpdump', ['-i', 'br0', '--immediate-mode', '-U', '-s', '0', '-w', file, ...filter]);
    await waitOutput(p, /listening on/, 'stderr');
    return {
      async stop() {
        p.kill('SIGINT');
        await p;
        return readFile(file);
      },
    };
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.close();
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.race([Promise.allSettled(this.procs), sleep(5000)]);
    // Network resources nodes made: their veth peers name the NR namespaces.
    const nrs = new Set<string>();
    for (const h of this.hosts) {
      const links = await execa('ip', ['-n', h.ns, '-o', 'link'], { reject: false });
      for (const m of String(links.stdout ?? '').matchAll(/link-netns (\S+)/g)) if (!m[1]!.startsWith(this.id)) nrs.add(m[1]!);
    }
    for (const n of [...this.hosts.map((h) => h.ns), this.internet, ...nrs]) await killNamespace(n);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether the test has failed (node 20 has TestContext.passed; its types do not list it yet). */
export function testFailed(t: TestContext): boolean {
  return (t as TestContext & { passed?: boolean }).passed === false;
}

/** Kills every process still in namespace `n` (a node's wireguard-go, a leftover) and deletes it. */
async function killNamespace(n: string): Promise<void> {
  const pids = await execa('ip', ['netns', 'pids', n], { reject: false });
  for (const pid of String(pids.stdout ?? '').split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await execa('ip', ['netns', 'del', n], { reject: false });
}

const ns = (args: string[]) => execa('ip', ['netns', ...args]);
const ip = (n: string, args: string[]) => execa('ip', ['-n', n, ...args]);

/** Resolves when a child prints a line matching `re` (rejects if it exits first). */
export function waitOutput(p: ResultPromise, re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${buf.slice(-300)}`)), timeoutMs);
    p[stream]!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(buf);
      }
    });
    void Promise.resolve(p).then((r) => {
      clearTimeout(timer);
      reject(new Error(`exited (${r.exitCode}) before ${re}: ${String(r.stderr ?? '').slice(-500)}`));
    });
  });
}

/** Whether this host can run a lab (root, ip netns, nsenter). */
export async function labSupported(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const bin of ['ip', 'nsenter']) {
    if ((await execa('sh', ['-c', `command -v ${bin}`], { reject: false })).exitCode !== 0) return `${bin} is not installed`;
  }
  return null;
}

/** A WireGuard key pair (x25519, base64), as `wg genkey | wg pubkey` makes. */
export function wgKeyPair(): { priv: string; pub: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const b64 = (s: string) => Buffer.from(s, 'base64url').toString('base64');
  return { priv: b64(privateKey.export({ format: 'jwk' }).d!), pub: b64(publicKey.export({ format: 'jwk' }).x!) };
}
