import { chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from '../../../lib/log.ts';
import { Haproxy, stopHaproxy } from './haproxy.ts';
import { certificateSteps, challengeMapText, renderProxyConfig, validChallenge, type AdminStep, type ProxyRoute } from './config.ts';
import { Serial } from '../../../lib/serial.ts';
import { CertStore } from './certs.ts';
import { proxyAccount, type ProxyAccount } from './privileges.ts';
import { readState, writeState } from './state.ts';
import { TrafficCounters } from './traffic.ts';

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

/**
 * The node's reverse proxy: one haproxy (haproxy.ts) in the public namespace serving every
 * gateway route. A route change renders the whole config and reloads it, so other gateways keep
 * serving; ACME answers and certificates change in the running haproxy (changeAtRunTime). Backends in a user network are dialled from that network's namespace by haproxy
 * itself (`server … namespace n-…`), which is what zos' nnc does. Traffic per route is folded
 * into counters (traffic.ts) before every reload, because a new worker starts from zero.
 * A haproxy that cannot start leaves the routes stored and is retried by every recheck: the
 * node's start never waits on it, and the routes' workloads carry the error.
 */
export class GatewayProxy implements GatewayRoutes, GatewayCertificates {
  private routes = new Map<string, ProxyRoute>();
  /** Pending HTTP-01 challenges (token -> key authorisation): only for a challenge's lifetime, never stored. */
  private challenges = new Map<string, string>();
  private readonly certs: CertStore;
  private readonly listeners: Array<() => void> = [];
  private readonly traffic: TrafficCounters;
  private readonly haproxy: Haproxy;
  private generation = 0;
  /** The backend namespaces as the loaded config saw them (see recheck). */
  private rendered = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly steps = new Serial();
  private readonly dir: string;
  private account: ProxyAccount = { uid: 65534, gid: 65534 };

  constructor(private readonly o: GatewayProxyOptions) {
    this.dir = o.dataDir;
    this.haproxy = new Haproxy(o.dataDir, o.log);
    this.traffic = new TrafficCounters(join(o.dataDir, 'traffic.json'));
    this.certs = new CertStore(join(o.dataDir, 'certs'), o.log);
  }

  private path(f: string): string {
    return join(this.dir, f);
  }

  /** Loads the stored routes and counters; adopts a running haproxy, or starts one if routes exist. */
  start(): Promise<void> {
    return this.steps.run(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.account = await proxyAccount();
      await this.certs.load();
      // One started by an older node (as root, its config in dir) goes; the running() check below misses it.
      if (!(await this.running())) await stopHaproxy(this.dir);
      const stored = await readState<{ generation: number; routes: ProxyRoute[] }>(this.path('routes.json'), this.o.log);
      this.generation = Number.isInteger(stored.generation) ? stored.generation! : 0;
      for (const r of Array.isArray(stored.routes) ? stored.routes : []) if (typeof r?.id === 'string') this.routes.set(r.id, r);
      await this.traffic.load(this.o.log);
      if (await this.running()) this.o.log.info({ routes: this.routes.size }, 'gateway proxy adopted');
      await this.followNamespace();
      // An adopted haproxy may hold namespaces rebuilt while the node was down: the first recheck reloads it.
      this.timer = setInterval(() => void this.recheck().catch((err: Error) => this.o.log.warn({ err: err.message }, 'gateway recheck failed')), this.o.recheckMs ?? 30_000);
      this.timer.unref();
    });
  }

  /**
   * Stops watching backend namespaces and retrying; resolves once a step under way is done.
   * haproxy keeps running (adopted by the next start).
   */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    return this.steps.run(async () => undefined);
  }

  /** Follows the public namespace: haproxy moves into a new one, stops without one, starts when it comes. */
  follow(): Promise<void> {
    return this.steps.run(() => this.followNamespace());
  }

  private async followNamespace(): Promise<void> {
    const ns = this.o.namespace();
    if (await this.running()) {
      if (await this.haproxy.inNamespace(ns)) return;
      await this.fold();
      await this.haproxy.stop();
    }
    if (!ns || this.routes.size === 0) return;
    this.traffic.restarted();
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
      if (await this.running()) await this.changeCertificate(fqdn);
    });
  }

  removeCertificate(fqdn: string): Promise<void> {
    return this.steps.run(async () => {
      if (!this.certs.get(fqdn)) return;
      await this.certs.remove(fqdn);
      if (await this.running()) await this.changeCertificate(fqdn);
    });
  }

  /**
   * Gives the running haproxy a name's certificate as stored now (new, renewed or gone): staged in
   * the run dir with the crt-list first, so a later load or restart finds what it serves, then
   * changed in memory over the admin socket (changeAtRunTime).
   */
  private async changeCertificate(fqdn: string): Promise<void> {
    const { file, staged } = await this.certs.stageName(this.certDir, this.account, fqdn);
    const loaded = (await this.haproxy.admin('show ssl cert').catch(() => '')).split('\n').includes(file);
    await this.changeAtRunTime('certificate', certificateSteps(file, staged.list, this.certs.get(fqdn), loaded));
  }

  private get certDir(): string {
    return join(this.haproxy.run, 'certs');
  }

  setChallenge(token: string, keyAuthorization: string): Promise<void> {
    return this.steps.run(async () => {
      const verb = this.challenges.has(token) ? 'set' : 'add';
      this.challenges.set(token, keyAuthorization);
      if (!validChallenge(token, keyAuthorization)) return; // never reaches haproxy
      await this.changeChallenge(`${verb} map ${this.challengeMap} ${token} ${keyAuthorization}`);
    });
  }

  removeChallenge(token: string): Promise<void> {
    return this.steps.run(async () => {
      const had = this.challenges.get(token);
      if (!this.challenges.delete(token) || !validChallenge(token, had!) || !(await this.running())) return;
      await this.changeChallenge(`del map ${this.challengeMap} ${token}`);
    });
  }

  private get challengeMap(): string {
    return join(this.haproxy.run, 'challenges.map');
  }

  /** Changes an HTTP-01 answer: the map file for later loads, then haproxy's copy in memory. */
  private async changeChallenge(command: string): Promise<void> {
    if (await this.running()) await this.writeChallengeMap();
    await this.changeAtRunTime('challenge', [{ command, ok: /^\s*$/ }]);
  }

  /**
   * Makes a change in the running haproxy over its admin socket instead of reloading it: each
   * reload makes haproxy 2.6's previous worker close its handles on the backend network
   * namespaces (seen with strace: setns then fails EBADF), so a request that worker still holds
   * for a backend in an owner network gets 503 "No server is available" (test/gateway/lab saw it
   * while certificates were issued). A haproxy not running, or refusing the change (started from
   * an older config), is loaded instead.
   */
  private async changeAtRunTime(what: string, steps: AdminStep[]): Promise<void> {
    if (await this.running()) {
      const refused = await this.haproxy.adminSteps(steps);
      if (refused === null) return;
      this.o.log.warn({ answer: refused }, `gateway proxy: ${what} not changed at run time; reloading`);
    }
    await this.apply();
  }

  private async writeChallengeMap(): Promise<void> {
    await writeFile(this.challengeMap, challengeMapText(this.challenges), { mode: 0o640 });
    await chown(this.challengeMap, 0, this.account.gid);
  }

  /**
   * Bytes each route carried and not yet reported (request + response), for NRU reports; they
   * stay counted until trafficReported(what this returned) confirms the report. Routes removed
   * since are still listed with what they carried before removal.
   */
  unreportedTraffic(): Promise<Array<{ id: string; bytes: number }>> {
    return this.steps.run(async () => {
      await this.fold();
      return this.traffic.unreported();
    });
  }

  /** Takes reported bytes off the counters (whatever came in meanwhile stays); removed routes are forgotten. */
  trafficReported(reported: Array<{ id: string; bytes: number }>): Promise<void> {
    return this.steps.run(() => this.traffic.reported(reported, (id) => this.routes.has(id)));
  }

  /** Stops haproxy and forgets every route (the node is leaving this host for good). */
  stopAll(): Promise<void> {
    void this.close();
    return this.steps.run(async () => {
      await this.haproxy.stop();
      this.routes.clear();
      this.traffic.clear();
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  private running(): Promise<boolean> {
    return this.haproxy.running();
  }

  /** Renders, checks and loads the current routes; haproxy stops when there are none. */
  private async apply(): Promise<void> {
    const up = await this.running();
    if (up) await this.fold();
    if (this.routes.size === 0) {
      if (up) await this.haproxy.stop();
      await this.save();
      return;
    }
    const generation = this.generation + 1;
    const namespaces = await this.backendNamespaces();
    // A network deleted under a route leaves it without servers (503) instead of breaking every reload.
    const routes = [...this.routes.values()].map((r) => (r.namespace && !namespaces.get(r.namespace) ? { ...r, servers: [] } : r));
    await this.haproxy.prepareRunDir(this.account);
    const certificates = await this.certs.stage(this.certDir, this.account);
    await this.writeChallengeMap();
    const text = renderProxyConfig(routes, {
      generation, statsSocket: this.haproxy.socket, httpBinds: this.o.httpBinds ?? [':80', ':::80 v6only'], tlsBinds: this.o.tlsBinds ?? [':443', ':::443 v6only'],
      terminator: `zos-gw-${basename(this.haproxy.run)}`, defaultCertificate: certificates.defaultFile, certificateList: certificates.list, challengeMap: this.challengeMap,
    });
    await this.haproxy.load(text, generation, this.o.namespace(), this.account);
    this.generation = generation;
    this.rendered = namespaces;
    this.traffic.restarted();
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
   * Starts haproxy again where routes wait for one that could not start (its port taken, a
   * broken binary or config) or died. Reloads when a backend namespace was deleted or made anew
   * since the last load (a network resource rebuilt after a reboot or an update): haproxy would
   * still dial into the old one.
   */
  recheck(): Promise<void> {
    return this.steps.run(async () => {
      if (this.closed) return;
      if (!(await this.running())) {
        if (this.routes.size === 0 || !this.o.namespace()) return;
        await this.apply();
        this.o.log.info({ routes: this.routes.size }, 'gateway proxy started on a retry');
        return;
      }
      const now = await this.backendNamespaces();
      if ([...now].every(([ns, id]) => this.rendered.get(ns) === id)) return;
      this.o.log.info('a gateway backend network changed; reloading the proxy');
      await this.apply();
    });
  }

  /** Adds what each backend carried since the last read to its counter. */
  private async fold(): Promise<void> {
    await this.traffic.fold(await this.haproxy.admin('show stat').catch(() => ''), this.routes.keys());
  }

  private async save(): Promise<void> {
    await writeState(this.path('routes.json'), { generation: this.generation, routes: [...this.routes.values()] });
    await this.traffic.save();
  }
}
