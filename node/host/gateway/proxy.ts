import { chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../../../lib/log.ts';
import { runResult } from '../exec.ts';
import { aliveWith, readPid, spawnDetached, waitFor } from '../vm/procs.ts';
import { adminCommand, CONFIG, stopHaproxy } from './haproxy.ts';
import { backendName, parseBackendBytes, renderProxyConfig, servedGeneration, type ProxyRoute } from './config.ts';
import { Serial } from '../../../lib/serial.ts';
import { CertStore } from './certs.ts';
import { asProxyAccount, proxyAccount, proxyRunDir, type ProxyAccount } from './privileges.ts';

export interface GatewayProxyOptions {
  /** State directory: routes, the haproxy config, pid file, sockets, traffic counters. */
  dataDir: string;
  /**
   * The network namespace haproxy listens in (the node's public namespace); null while there is
   * none (routes then wait: see follow()). Read when haproxy starts.
   */
  namespace: () => string | null;
  /** How often backend namespaces are checked for a rebuild (default 30 s). */
  recheckMs?: number;
  /** Default `:80` and `:443`, IPv4 and IPv6. */
  httpBinds?: string[];
  tlsBinds?: string[];
  log: Logger;
}

/** What the gateway primitives need from the host. */
export interface GatewayRoutes {
  /** Adds or replaces a route; the proxy serves it when this resolves. Nothing changes on failure. */
  set(route: ProxyRoute): Promise<void>;
  /** Removes a route (unknown is fine); haproxy stops when none is left. */
  remove(id: string): Promise<void>;
  list(): ProxyRoute[];
}

/** What the ACME client needs from the proxy: certificates kept per name, HTTP-01 answers on :80. */
export interface GatewayCertificates {
  /** Names whose routes terminate TLS here (no passthrough). */
  terminatedNames(): string[];
  /** Stored certificates with their validity. */
  certificates(): Array<{ fqdn: string; notBefore: Date; notAfter: Date }>;
  /** Calls `fn` after routes were added or removed. */
  onRoutesChanged(fn: () => void): void;
  /** Stores a name's certificate (chain then key) and serves it. */
  setCertificate(fqdn: string, pem: string): Promise<void>;
  removeCertificate(fqdn: string): Promise<void>;
  /** Answers `/.well-known/acme-challenge/<token>` on :80 with the key authorisation until removed. */
  setChallenge(token: string, keyAuthorization: string): Promise<void>;
  removeChallenge(token: string): Promise<void>;
}

interface Counter {
  /** Bytes counted and not yet taken. */
  pending: number;
  /** The last value read from the running haproxy generation (counters restart at 0 on reload). */
  seen: number;
}

/** The admin socket, in a subdirectory of the run dir that only haproxy's account writes. */
const SOCKET = join('sock', 'stats.sock');
const RELOAD_TIMEOUT_MS = 10_000;

/**
 * The node's reverse proxy: one haproxy (master-worker) in the public namespace serving every
 * gateway route. A change renders the whole config, checks it with `haproxy -c`, then reloads
 * (SIGUSR2 to the master: a new worker takes the listeners, the old one finishes its
 * connections), so other gateways keep serving. haproxy outlives the node, like VMs, and is
 * adopted by its pid file. Backends in a user network are dialled from that network's
 * namespace by haproxy itself (`server … namespace n-…`), which is what zos' nnc does.
 * Traffic per route (haproxy's backend bytes in + out) is folded into counters kept on disk
 * before every reload, because a new worker starts from zero.
 */
export class GatewayProxy implements GatewayRoutes, GatewayCertificates {
  private routes = new Map<string, ProxyRoute>();
  /** Pending HTTP-01 challenges (token -> key authorisation): only for a challenge's lifetime, never stored. */
  private challenges = new Map<string, string>();
  private readonly certs: CertStore;
  private readonly listeners: Array<() => void> = [];
  private counters = new Map<string, Counter>();
  private generation = 0;
  /** The backend namespaces as the loaded config saw them (see recheck). */
  private rendered = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly steps = new Serial();
  private readonly dir: string;
  /** haproxy's config and socket (proxyRunDir); routes, counters, pid and log stay in dir, root's only. */
  private readonly run: string;
  private account: ProxyAccount = { uid: 65534, gid: 65534 };

  constructor(private readonly o: GatewayProxyOptions) {
    this.dir = o.dataDir;
    this.run = proxyRunDir(o.dataDir);
    this.certs = new CertStore(join(o.dataDir, 'certs'), o.log);
  }

  private path(f: string): string {
    return join(this.dir, f);
  }

  /**
   * The run dir is root's and haproxy's group may only read it (the node writes the config
   * there, so it must not follow anything haproxy could plant); the socket's subdirectory is
   * haproxy's own.
   */
  private async runDirs(): Promise<void> {
    const sock = join(this.run, SOCKET, '..');
    await mkdir(join(this.run, '..'), { recursive: true });
    await chmod(join(this.run, '..'), 0o755);
    await mkdir(sock, { recursive: true, mode: 0o700 });
    await chown(this.run, 0, this.account.gid);
    await chmod(this.run, 0o750);
    await chown(sock, this.account.uid, this.account.gid);
  }

  /** Loads the stored routes and counters; adopts a running haproxy, or starts one if routes exist. */
  start(): Promise<void> {
    return this.steps.run(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.account = await proxyAccount();
      await this.certs.load();
      // One started by an older node (as root, its config in dir) goes; the running() check below misses it.
      if (!(await this.running())) await stopHaproxy(this.dir);
      const stored = JSON.parse(await readFile(this.path('routes.json'), 'utf8').catch(() => '{}')) as { generation?: number; routes?: ProxyRoute[] };
      this.generation = stored.generation ?? 0;
      for (const r of stored.routes ?? []) this.routes.set(r.id, r);
      const counters = JSON.parse(await readFile(this.path('traffic.json'), 'utf8').catch(() => '{}')) as Record<string, Counter>;
      for (const [id, c] of Object.entries(counters)) this.counters.set(id, c);
      if (await this.running()) this.o.log.info({ routes: this.routes.size }, 'gateway proxy adopted');
      await this.followNamespace();
      // An adopted haproxy may hold namespaces rebuilt while the node was down: the first recheck reloads it.
      this.timer = setInterval(() => void this.recheck().catch((err: Error) => this.o.log.warn({ err: err.message }, 'gateway recheck failed')), this.o.recheckMs ?? 30_000);
      this.timer.unref();
    });
  }

  /** Stops watching backend namespaces; haproxy keeps running (adopted by the next start). */
  close(): void {
    clearInterval(this.timer);
  }

  /** Follows the public namespace: haproxy moves into a new one, stops without one, starts when it comes. */
  follow(): Promise<void> {
    return this.steps.run(() => this.followNamespace());
  }

  private async followNamespace(): Promise<void> {
    const ns = this.o.namespace();
    const pid = await readPid(this.path('haproxy.pid'));
    if (await this.running()) {
      const [mine, want] = await Promise.all([stat(`/proc/${pid}/ns/net`).catch(() => null), ns ? stat(`/run/netns/${ns}`).catch(() => null) : null]);
      if (mine && want && mine.ino === want.ino && mine.dev === want.dev) return;
      await this.fold();
      await stopHaproxy(this.dir);
    }
    if (!ns || this.routes.size === 0) return;
    for (const c of this.counters.values()) c.seen = 0;
    await this.apply().catch((err: Error) => this.o.log.error({ err: err.message }, 'gateway proxy could not start'));
  }

  list(): ProxyRoute[] {
    return [...this.routes.values()];
  }

  set(route: ProxyRoute): Promise<void> {
    return this.steps.run(async () => {
      const previous = this.routes.get(route.id);
      if (previous && JSON.stringify(previous) === JSON.stringify(route) && (await this.running())) return;
      this.routes.set(route.id, route);
      try {
        await this.apply();
        this.changed();
      } catch (err) {
        if (previous) this.routes.set(route.id, previous);
        else this.routes.delete(route.id);
        await this.apply().catch((e: Error) => this.o.log.error({ err: e.message }, 'gateway proxy: restoring the previous config failed'));
        throw err;
      }
    });
  }

  remove(id: string): Promise<void> {
    return this.steps.run(async () => {
      if (!this.routes.has(id)) return;
      // Its bytes so far are counted while haproxy still has its backend; unreportedTraffic lists them until reported.
      if (await this.running()) await this.fold();
      const { fqdn } = this.routes.get(id)!;
      this.routes.delete(id);
      // The name's certificate goes with its last terminating route (a later workload gets a new one).
      if (!this.terminatedNames().includes(fqdn.toLowerCase())) await this.certs.remove(fqdn.toLowerCase());
      await this.apply();
      this.changed();
    });
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  terminatedNames(): string[] {
    return [...new Set([...this.routes.values()].filter((r) => !r.tlsPassthrough).map((r) => r.fqdn.toLowerCase()))];
  }

  certificates(): Array<{ fqdn: string; notBefore: Date; notAfter: Date }> {
    return this.certs.list();
  }

  onRoutesChanged(fn: () => void): void {
    this.listeners.push(fn);
  }

  setCertificate(fqdn: string, pem: string): Promise<void> {
    return this.steps.run(async () => {
      if (this.certs.get(fqdn) === pem) return;
      await this.certs.put(fqdn, pem);
      if (await this.running()) await this.apply();
    });
  }

  removeCertificate(fqdn: string): Promise<void> {
    return this.steps.run(async () => {
      if (!this.certs.get(fqdn)) return;
      await this.certs.remove(fqdn);
      if (await this.running()) await this.apply();
    });
  }

  setChallenge(token: string, keyAuthorization: string): Promise<void> {
    return this.steps.run(async () => {
      this.challenges.set(token, keyAuthorization);
      await this.apply();
    });
  }

  removeChallenge(token: string): Promise<void> {
    return this.steps.run(async () => {
      if (!this.challenges.delete(token)) return;
      if (await this.running()) await this.apply();
    });
  }

  /**
   * Bytes each route carried and not yet reported (request + response), for NRU reports; they
   * stay counted until trafficReported(what this returned) confirms the report. Routes removed
   * since are still listed with what they carried before removal.
   */
  unreportedTraffic(): Promise<Array<{ id: string; bytes: number }>> {
    return this.steps.run(async () => {
      await this.fold();
      return [...this.counters].filter(([, c]) => c.pending > 0).map(([id, c]) => ({ id, bytes: c.pending }));
    });
  }

  /** Takes reported bytes off the counters (whatever came in meanwhile stays); removed routes are forgotten. */
  trafficReported(reported: Array<{ id: string; bytes: number }>): Promise<void> {
    return this.steps.run(async () => {
      for (const { id, bytes } of reported) {
        const c = this.counters.get(id);
        if (!c) continue;
        c.pending = Math.max(0, c.pending - bytes);
        if (c.pending === 0 && !this.routes.has(id)) this.counters.delete(id);
      }
      await this.saveCounters();
    });
  }

  /** Stops haproxy and forgets every route (the node is leaving this host for good). */
  stopAll(): Promise<void> {
    this.close();
    return this.steps.run(async () => {
      await stopHaproxy(this.dir);
      this.routes.clear();
      this.counters.clear();
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  private async running(): Promise<boolean> {
    return aliveWith(await readPid(this.path('haproxy.pid')), join(this.run, CONFIG));
  }

  /** Renders, checks and loads the current routes; haproxy stops when there are none. */
  private async apply(): Promise<void> {
    const up = await this.running();
    if (up) await this.fold();
    if (this.routes.size === 0) {
      if (up) await stopHaproxy(this.dir);
      await this.save();
      return;
    }
    const generation = this.generation + 1;
    const namespaces = await this.backendNamespaces();
    // A network deleted under a route leaves it without servers (503) instead of breaking every reload.
    const routes = [...this.routes.values()].map((r) => (r.namespace && !namespaces.get(r.namespace) ? { ...r, servers: [] } : r));
    await this.runDirs();
    const certificates = await this.certs.stage(join(this.run, 'certs'), this.account);
    const text = renderProxyConfig(routes, {
      generation, statsSocket: join(this.run, SOCKET), httpBinds: this.o.httpBinds ?? [':80', ':::80 v6only'], tlsBinds: this.o.tlsBinds ?? [':443', ':::443 v6only'],
      terminator: `zos-gw-${basename(this.run)}`, certificates, challenges: [...this.challenges].map(([token, keyAuthorization]) => ({ token, keyAuthorization })),
    });
    const next = join(this.run, `${CONFIG}.next`);
    await writeFile(next, text, { mode: 0o600 });
    await chown(next, 0, this.account.gid);
    await chmod(next, 0o640);
    const check = await runResult('haproxy', ['-c', '-q', '-f', next], { log: this.o.log });
    if (check.exitCode !== 0) throw new Error(`gateway proxy config rejected: ${check.stderr || check.stdout}`);
    await rename(next, join(this.run, CONFIG));
    if (up) process.kill((await readPid(this.path('haproxy.pid')))!, 'SIGUSR2');
    else await this.spawn();
    const served = async () => (await this.generationServed()) === generation;
    // Waits until the new generation serves or the master is gone; not on its command line, which
    // reads empty while the master re-executes itself for the reload.
    const master = await readPid(this.path('haproxy.pid'));
    await waitFor(async () => (await served()) || !(await aliveWith(master, '')), RELOAD_TIMEOUT_MS, 50);
    if (!(await served())) {
      throw new Error(`gateway proxy did not ${up ? 'reload' : 'start'}: ${await this.logTail()}`);
    }
    this.generation = generation;
    this.rendered = namespaces;
    for (const c of this.counters.values()) c.seen = 0;
    await this.save();
  }

  /** Each backend namespace's identity (`dev:ino`, "" when missing): haproxy holds the one it opened at load. */
  private async backendNamespaces(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const r of this.routes.values()) {
      if (r.namespace && !out.has(r.namespace)) out.set(r.namespace, await stat(`/run/netns/${r.namespace}`).then((st) => `${st.dev}:${st.ino}`, () => ''));
    }
    return out;
  }

  /**
   * Reloads when a backend namespace was deleted or made anew since the last load (a network
   * resource rebuilt after a reboot or an update): haproxy would still dial into the old one.
   */
  recheck(): Promise<void> {
    return this.steps.run(async () => {
      if (!(await this.running())) return;
      const now = await this.backendNamespaces();
      if ([...now].every(([ns, id]) => this.rendered.get(ns) === id)) return;
      this.o.log.info('a gateway backend network changed; reloading the proxy');
      await this.apply();
    });
  }

  private async spawn(): Promise<void> {
    const ns = this.o.namespace();
    if (!ns) throw new Error('gateway is not supported on this node: no public configuration');
    // nsenter without --pid and setpriv exec in place: the pid is haproxy's master, which keeps it across
    // reloads (it re-executes itself). No `-p`: haproxy rewrites that file on every reload, and a
    // read at that moment would find no haproxy and start a second one.
    const args = [`--net=/run/netns/${ns}`, ...asProxyAccount(this.account, ['haproxy', '-W', '-db', '-f', join(this.run, CONFIG)])];
    await writeFile(this.path('haproxy.pid'), `${spawnDetached('nsenter', args, this.path('haproxy.log'))}\n`);
  }

  private async generationServed(): Promise<number | undefined> {
    return servedGeneration(await this.admin('show info').catch(() => ''));
  }

  private async logTail(): Promise<string> {
    return (await readFile(this.path('haproxy.log'), 'utf8').catch(() => '')).split('\n').slice(-10).join('\n').trim();
  }

  /** Adds what each backend carried since the last read to its counter. */
  private async fold(): Promise<void> {
    const csv = await this.admin('show stat').catch(() => '');
    if (!csv) return;
    const bytes = parseBackendBytes(csv);
    for (const id of this.routes.keys()) {
      const live = bytes.get(backendName(id));
      if (live === undefined) continue;
      const c = this.counters.get(id) ?? { pending: 0, seen: 0 };
      // A counter below the last reading means haproxy restarted: everything it shows is new.
      c.pending += live >= c.seen ? live - c.seen : live;
      c.seen = live;
      this.counters.set(id, c);
    }
    await this.saveCounters();
  }

  private admin(command: string): Promise<string> {
    return adminCommand(join(this.run, SOCKET), command);
  }

  private async save(): Promise<void> {
    await writeJson(this.path('routes.json'), { generation: this.generation, routes: [...this.routes.values()] });
    await this.saveCounters();
  }

  private async saveCounters(): Promise<void> {
    await writeJson(this.path('traffic.json'), Object.fromEntries(this.counters));
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(value), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
