// The node's public setup (zos pkg/network/public): the public bridge wired to the exit NIC, and
// the public namespace whose `public` macvlan holds the node's public addresses from its public
// config on chain. Gateways (reverse proxies) run inside that namespace; VMs with a public IP put
// a tap on the bridge.
//
// API for other host code (gateways):
//   const pub = hosts.public;              // PublicHost, started by node/host/index.ts
//   pub.namespace()                        // the public namespace's name, or null without a public config
//   pub.setup()                            // the applied PublicSetup {ipv4, gw4, ipv6, gw6, domain}, or null
//   await pub.live()                       // the addresses as they are in the namespace (public_config_get)
//   pub.onChange((setup) => ...)           // called after each apply (setup null: torn down); returns an unsubscribe
//   await pub.apply(setup | null)          // ensure (idempotent, follows changes) or tear down; the node calls it
//                                          // from the chain's public config at start and on NodePublicConfigStored
// Run a process there with `ip netns exec <namespace> ...`; listen on the `ipv4`/`ipv6` addresses.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';
import { runResult } from '../exec.ts';
import { addrEnsure, ip, linkDelete, linkExists, netnsDelete, netnsEnsure, netnsExists, nftApply, nftDeleteTable, sysctl, tapEnsure, type Netns } from './ip.ts';
import { nodeSalt, PUBLIC_IF, publicNames, pubTapName, type PublicNames } from './names.ts';
import { checkExit, currentExit, type ExitDevice, type IpLink } from './public-nic.ts';
import { pubFilterRuleset, pubFilterTable } from './public-nft.ts';
import { Serial } from '../../../lib/serial.ts';

/** The node's public config as applied on the host (from chain `add_node_public_config`). */
export interface PublicSetup {
  /** The node's public IPv4 CIDR, e.g. `185.206.122.10/24`. */
  ipv4: string;
  gw4: string;
  /** The node's public IPv6 CIDR (its /64 also gives `ip` workloads their IPv6), or null. */
  ipv6: string | null;
  gw6: string | null;
  /** The gateway domain (name proxies live under it), or null. */
  domain: string | null;
}

/** What the namespace holds now (zos reads public_config_get from reality); "" where unset. */
export interface LivePublic {
  ipv4: string;
  gw4: string;
  ipv6: string;
  gw6: string;
}

/** A pinned public tap: the key it was made from and the workload (id, type) it belongs to. */
export interface PublicPin {
  key: string;
  owner: string;
  type: string;
}

interface Saved {
  /** The exit NIC the farmer chose (set_public_nic); null: single-NIC mode over the uplink bridge. */
  nic: string | null;
  setup: PublicSetup | null;
  /** Pinned public taps: the workload each belongs to and its rx+tx bytes at the last traffic report. */
  taps?: Record<string, PublicPin & { bytes: number }>;
}

export interface PublicHostOptions {
  /** The network state directory (shared with NetworkHost: same salt). */
  dataDir: string;
  /** The namespace acting as the node's host (tests); undefined = the node's own. */
  hostNs?: Netns;
  log: Logger;
}

/** zos' text for a node without a public namespace. */
export const NO_PUBLIC_CONFIG = 'no public configuration';

export class PublicHost {
  private names!: PublicNames;
  private salt = '';
  private saved: Saved = { nic: null, setup: null };
  private readonly listeners = new Set<(s: PublicSetup | null) => void>();
  private readonly steps = new Serial();

  constructor(private readonly o: PublicHostOptions) {}

  private get opts() {
    return { log: this.o.log };
  }

  /** Loads the saved state and brings the setup back (a host reboot loses namespaces and bridges). */
  start(): Promise<void> {
    return this.steps.run(async () => {
      await mkdir(this.o.dataDir, { recursive: true, mode: 0o700 });
      this.salt = await nodeSalt(this.o.dataDir);
      this.names = publicNames(this.salt);
      const text = await readFile(this.file, 'utf8').catch(() => '');
      if (text) this.saved = JSON.parse(text) as Saved;
      if (this.saved.setup) await this.ensure(this.saved.setup).catch((err: Error) => this.o.log.error({ err: err.message }, 'could not bring the public setup back'));
      else if (this.saved.nic) await this.ensureBridge().catch((err: Error) => this.o.log.error({ err: err.message }, 'could not wire the public bridge'));
    });
  }

  private get file(): string {
    return join(this.o.dataDir, 'public.json');
  }

  private async save(): Promise<void> {
    await writeFileDurably(this.file, JSON.stringify(this.saved), 0o600);
  }

  /** The public namespace's name while the node has a public config, else null. */
  namespace(): string | null {
    return this.saved.setup ? this.names.ns : null;
  }

  /** The public bridge VM public taps join (zos `br-pub`). */
  bridge(): string {
    return this.names.bridge;
  }

  setup(): PublicSetup | null {
    return this.saved.setup;
  }

  onChange(fn: (s: PublicSetup | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sets up (or follows a change of) the public namespace; null tears it down. */
  apply(setup: PublicSetup | null): Promise<void> {
    return this.steps.run(async () => {
      if (!setup && !this.saved.setup) return;
      if (setup) await this.ensure(setup);
      else await netnsDelete(this.names.ns, this.opts);
      this.saved = { ...this.saved, setup };
      await this.save();
      for (const fn of this.listeners) fn(setup);
    });
  }

  private async links(): Promise<IpLink[]> {
    return JSON.parse((await ip(this.o.hostNs, ['-j', '-d', 'addr', 'show'], this.opts)) || '[]') as IpLink[];
  }

  /** The interface of the node's default route (its uplink), or null. */
  private async uplink(): Promise<string | null> {
    const routes = JSON.parse((await ip(this.o.hostNs, ['-j', 'route', 'show', 'default'], this.opts)) || '[]') as Array<{ dev?: string }>;
    return routes[0]?.dev ?? null;
  }

  /** The public bridge, wired to the chosen NIC, else to the uplink when that is a bridge (single-NIC mode). */
  private async ensureBridge(): Promise<void> {
    const n = this.names;
    const host = this.o.hostNs;
    if (!(await linkExists(host, n.bridge))) {
      await ip(host, ['link', 'add', 'name', n.bridge, 'type', 'bridge'], this.opts);
      await sysctl(host, { [`net.ipv6.conf.${n.bridge}.disable_ipv6`]: 1 }, this.opts);
    }
    await ip(host, ['link', 'set', 'dev', n.bridge, 'up'], this.opts);
    const links = await this.links();
    try {
      currentExit(links, n.bridge, n.single);
      return;
    } catch {
      // not wired yet
    }
    const target = this.saved.nic ?? (await this.uplink());
    if (!target) return this.o.log.warn('public bridge has no exit: no public nic set and no uplink');
    try {
      await this.wire(checkExit(links, target, await this.uplink(), n.bridge));
    } catch (err) {
      this.o.log.warn({ exit: target, err: (err as Error).message }, 'public bridge has no exit: set one with zos.admin.set_public_nic');
    }
  }

  private async wire(choice: ReturnType<typeof checkExit>): Promise<void> {
    const n = this.names;
    const host = this.o.hostNs;
    if (choice.mode === 'dual') {
      await ip(host, ['link', 'set', 'dev', choice.nic, 'master', n.bridge, 'up'], this.opts);
      return;
    }
    if (!(await linkExists(host, n.single))) await ip(host, ['link', 'add', 'name', n.single, 'type', 'veth', 'peer', 'name', n.singlePeer], this.opts);
    await ip(host, ['link', 'set', 'dev', n.single, 'master', n.bridge, 'up'], this.opts);
    await ip(host, ['link', 'set', 'dev', n.singlePeer, 'master', choice.uplink, 'up'], this.opts);
  }

  private async ensure(s: PublicSetup): Promise<void> {
    const n = this.names;
    await this.ensureBridge();
    await netnsEnsure(n.ns, this.opts);
    if (!(await linkExists(n.ns, PUBLIC_IF))) {
      await linkDelete(this.o.hostNs, n.staging, this.opts);
      await ip(this.o.hostNs, ['link', 'add', 'name', n.staging, 'link', n.bridge, 'address', this.mac(), 'type', 'macvlan', 'mode', 'bridge'], this.opts);
      await ip(this.o.hostNs, ['link', 'set', 'dev', n.staging, 'netns', n.ns], this.opts);
      await ip(n.ns, ['link', 'set', 'dev', n.staging, 'name', PUBLIC_IF], this.opts);
    }
    // No router advertisements: the farmer's config is the whole truth, as on zos' static setup.
    await sysctl(n.ns, { 'net.ipv6.conf.all.forwarding': 1, [`net.ipv6.conf.${PUBLIC_IF}.accept_ra`]: 0 }, this.opts);
    await ip(n.ns, ['link', 'set', 'dev', PUBLIC_IF, 'up'], this.opts);
    const live = await this.addresses();
    for (const old of live.filter((c) => c !== s.ipv4 && c !== s.ipv6)) await ip(n.ns, ['addr', 'del', old, 'dev', PUBLIC_IF], this.opts);
    await addrEnsure(n.ns, PUBLIC_IF, s.ipv4, this.opts);
    await ip(n.ns, ['route', 'replace', 'default', 'via', s.gw4, 'dev', PUBLIC_IF], this.opts);
    if (s.ipv6 && s.gw6) {
      // The farmer owns these addresses: no duplicate detection delaying them.
      await ip(n.ns, ['-6', 'addr', 'replace', s.ipv6, 'dev', PUBLIC_IF, 'nodad'], this.opts);
      await ip(n.ns, ['-6', 'route', 'replace', 'default', 'via', s.gw6, 'dev', PUBLIC_IF], this.opts);
    } else {
      await ip(n.ns, ['-6', 'route', 'flush', 'default'], this.opts);
    }
  }

  /** Global addresses (CIDRs) on the public interface. */
  private async addresses(): Promise<string[]> {
    const [link] = JSON.parse((await ip(this.names.ns, ['-j', 'addr', 'show', 'dev', PUBLIC_IF], this.opts)) || '[]') as Array<{ addr_info?: Array<{ local: string; prefixlen: number; scope: string }> }>;
    return (link?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
  }

  /** A stable MAC for the public macvlan (locally administered), from the node's salt. */
  private mac(): string {
    const d = createHash('md5').update(`${this.salt}-public`).digest();
    d[0] = (d[0]! | 2) & 0xfe;
    return [...d.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  }

  /** `public_config_get` from reality: the namespace's addresses and default routes; zos' text without one. */
  async live(): Promise<LivePublic> {
    const n = this.names;
    if (!(await netnsExists(n.ns))) throw new Error(NO_PUBLIC_CONFIG);
    const cidrs = await this.addresses();
    const gw = async (family: string) => {
      const [r] = JSON.parse((await ip(n.ns, [family, '-j', 'route', 'show', 'default'], this.opts)) || '[]') as Array<{ gateway?: string }>;
      return r?.gateway ?? '';
    };
    // zos keeps a global IPv6 that is not ULA (fc00::/7).
    const v6 = cidrs.find((c) => c.includes(':') && !/^f[cd]/i.test(c));
    return { ipv4: cidrs.find((c) => !c.includes(':')) ?? '', gw4: await gw('-4'), ipv6: v6 ?? '', gw6: await gw('-6') };
  }

  /** `zos.admin.get_public_nic`: how the public bridge reaches the outside, read from the host. */
  async exitDevice(): Promise<ExitDevice> {
    return currentExit(await this.links(), this.names.bridge, this.names.single);
  }

  /** `zos.admin.set_public_nic`: rewires the public bridge to `name` (idempotent); remembered across restarts. */
  setExitNic(name: string): Promise<void> {
    return this.steps.run(async () => {
      const n = this.names;
      const links = await this.links();
      const choice = checkExit(links, name, await this.uplink(), n.bridge);
      if (!links.some((l) => l.ifname === n.bridge)) await this.ensureBridge();
      // Unhook the previous exit (a NIC, or the single-mode veth), never the VM taps.
      for (const l of await this.links()) {
        if (l.master !== n.bridge || l.linkinfo?.info_kind === 'tun' || l.ifname === name) continue;
        if (l.ifname !== n.single) await ip(this.o.hostNs, ['link', 'set', 'dev', l.ifname, 'nomaster'], this.opts);
        else if (choice.mode === 'dual') await linkDelete(this.o.hostNs, n.single, this.opts);
      }
      await this.wire(choice);
      this.saved = { ...this.saved, nic: choice.mode === 'dual' ? choice.nic : null };
      await this.save();
    });
  }

  /**
   * A VM's public NIC: the tap `p-<hash(key)>` on the public bridge, up (`key`: zos' `Unique("pub")`
   * of the ip workload). QEMU opens it like a private tap. Fails with zos' text without a public setup.
   */
  async attachTap(key: string): Promise<{ tap: string }> {
    if (!this.saved.setup) throw new Error('public ipv4 is requested, but not supported on this node');
    const tap = pubTapName(this.salt, key);
    await tapEnsure(this.o.hostNs, tap, this.names.bridge, this.opts);
    return { tap };
  }

  async detachTap(tap: string): Promise<void> {
    await linkDelete(this.o.hostNs, tap, this.opts);
  }

  /** The tap name a key gets (for filters set up before the VM creates its tap). */
  tapName(key: string): string {
    return pubTapName(this.salt, key);
  }

  /**
   * Pins the tap of `key` to the `ip` workload's IPv4 (a bare address, or null) and MAC (zos
   * SetupPubIPFilter); its traffic counts for `owner` (the workload id, of `type`) in takeTraffic.
   */
  pinTap(key: string, ipv4: string | null, mac: string, owner: { id: string; type: string }): Promise<void> {
    return this.steps.run(async () => {
      const tap = this.tapName(key);
      await nftApply(this.o.hostNs, pubFilterRuleset(tap, ipv4, mac), this.opts);
      this.saved.taps = { ...this.saved.taps, [tap]: { key, owner: owner.id, type: owner.type, bytes: this.saved.taps?.[tap]?.bytes ?? 0 } };
      await this.save();
    });
  }

  /**
   * Bytes each pinned tap carried (rx + tx) since the last call, by owner workload id: what zos
   * reports as NRU of a VM's public NIC. A tap made anew (VM restarted) counts from zero again.
   */
  takeTraffic(): Promise<Array<{ id: string; bytes: number }>> {
    return this.steps.run(async () => {
      const out: Array<{ id: string; bytes: number }> = [];
      for (const [tap, t] of Object.entries(this.saved.taps ?? {})) {
        const r = await runResult('ip', [...(this.o.hostNs ? ['-n', this.o.hostNs] : []), '-j', '-s', 'link', 'show', 'dev', tap]);
        if (r.exitCode !== 0) continue;
        const [link] = JSON.parse(r.stdout || '[]') as Array<{ stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } } }>;
        const now = (link?.stats64?.rx?.bytes ?? 0) + (link?.stats64?.tx?.bytes ?? 0);
        const bytes = now >= t.bytes ? now - t.bytes : now;
        t.bytes = now;
        if (bytes > 0) out.push({ id: t.owner, bytes });
      }
      await this.save();
      return out;
    });
  }

  /** Every pinned tap (for dropping those no workload owns any more). */
  pins(): PublicPin[] {
    return Object.values(this.saved.taps ?? {}).map(({ key, owner, type }) => ({ key, owner, type }));
  }

  /** Whether the tap of `key` is pinned (zos PubIPFilterExists: the workload needs no action). */
  async pinned(key: string): Promise<boolean> {
    const r = await runResult(this.o.hostNs ? 'ip' : 'nft', [...(this.o.hostNs ? ['netns', 'exec', this.o.hostNs, 'nft'] : []), 'list', 'table', 'bridge', pubFilterTable(this.tapName(key))]);
    return r.exitCode === 0;
  }

  /** Removes the filter and the tap of `key` (zos RemovePubIPFilter + DisconnectPubTap); missing is fine. */
  unpinTap(key: string): Promise<void> {
    return this.steps.run(async () => {
      const tap = this.tapName(key);
      await nftDeleteTable(this.o.hostNs, 'bridge', pubFilterTable(tap), this.opts);
      await linkDelete(this.o.hostNs, tap, this.opts);
      if (this.saved.taps?.[tap]) {
        delete this.saved.taps[tap];
        await this.save();
      }
    });
  }
}

/** Removes a stopped node's public namespace and bridge for good (`zos up`, test grids). */
export async function removeStoredPublic(dataDir: string, log: Logger): Promise<void> {
  const text = await readFile(join(dataDir, 'public.json'), 'utf8').catch(() => '');
  if (!text) return;
  const n = publicNames(await nodeSalt(dataDir));
  await netnsDelete(n.ns, { log });
  for (const link of [n.single, n.bridge]) await linkDelete(undefined, link, { log }).catch(() => undefined);
  await rm(join(dataDir, 'public.json'), { force: true });
}
