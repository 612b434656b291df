// Host composition: every host service the node runs, started in order and closed in reverse.
// Primitives get these as interfaces (node/primitives/index.ts PrimitiveHosts); the API and the
// registrar read facts from them (pools, DMI, interfaces). A new host area (network, vm, …) is added here once.
import { join } from 'node:path';
import type { Logger } from '../../lib/log.ts';
import type { ImageNode } from '../../image/index.ts';
import { StorageHost, type StorageHostOptions } from './storage/index.ts';
import { VmHost, type VmHostOptions } from './vm/host.ts';
import { HostSystem } from './system/index.ts';
import { NetworkHost, PublicHost, type NetworkHostOptions } from './network/index.ts';
import { AcmeCertificates, GatewayProxy, LETS_ENCRYPT, ZOS_ACME_EMAIL } from './gateway/index.ts';

export interface HostOptions {
  /** The node's data directory; each host keeps its state below it. */
  dataDir: string;
  storage?: Omit<StorageHostOptions, 'dataDir' | 'log'>;
  /** VM settings (accel, guest kernel dir, crash policy); see vmEnv for the environment variables. */
  vm?: Omit<VmHostOptions, 'dir' | 'log'>;
  /** Private network settings (uplink pool, egress). */
  network?: Pick<NetworkHostOptions, 'uplinkPool' | 'egress'>;
  log: Logger;
}

export interface Hosts {
  storage: StorageHost;
  /**
   * The node's one image store (store/, verified cache/, per-workload roots/) shared by every VM,
   * opened on first use: a node without VMs never loads the image code (issue 16, memory).
   */
  images: () => Promise<ImageNode>;
  /** QEMU VMs; they outlive the node process and are adopted by the primitives' init. */
  vm: VmHost;
  /** The machine's own facts (DMI, hypervisor, interfaces, GPUs); reads only, nothing to start. */
  system: HostSystem;
  /** Private networks: network resources (adopted or rebuilt at start) and VM taps. */
  network: NetworkHost;
  /** The node's public namespace and bridge (public config, exit NIC, VM public taps). */
  public: PublicHost;
  /** The web gateway: haproxy serving gateway routes; it outlives the node and is adopted. */
  gateway: GatewayProxy;
  /** Stops every host service, the last started first; pools stay mounted for the next start. */
  close(): Promise<void>;
}

/** Starts the host services; if one fails, those already started are closed again. */
export async function startHosts(o: HostOptions): Promise<Hosts> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch((err: unknown) => o.log.error({ err }, 'host close failed'));
  };
  try {
    // Pools stay mounted across node restarts: workloads keep their disks while the node is down.
    const storage = new StorageHost({ ...(o.storage ?? {}), dataDir: join(o.dataDir, 'storage'), keepMounted: true, log: o.log });
    await storage.start();
    closers.push(() => storage.close());
    const pub = new PublicHost({ dataDir: join(o.dataDir, 'network'), log: o.log.child({ component: 'public' }) });
    await pub.start();
    // Loads and brings back stored network resources; touches the host only if there are any.
    // Their wireguard-go listens in the public namespace while there is one (after pub.start).
    const network = new NetworkHost({ ...(o.network ?? {}), dataDir: join(o.dataDir, 'network'), publicNs: () => pub.namespace(), log: o.log });
    await network.start();
    pub.onChange(() => void network.follow().catch((err: Error) => o.log.error({ err: err.message }, 'network resources did not follow the public namespace')));
    // haproxy runs in the public namespace (none: gateways are refused, a stored route waits for it).
    const gateway = new GatewayProxy({ dataDir: join(o.dataDir, 'gateway'), namespace: () => pub.namespace(), log: o.log.child({ component: 'gateway' }) });
    await gateway.start();
    closers.push(async () => gateway.close());
    pub.onChange(() => void gateway.follow().catch((err: Error) => o.log.error({ err: err.message }, 'gateway proxy did not follow the public namespace')));
    // Certificates for gateway names whose TLS the node terminates (HTTP-01 answered by haproxy; ACME is only dialled while a name needs one).
    const acme = new AcmeCertificates({ ...acmeEnv(), dataDir: join(o.dataDir, 'gateway', 'acme'), proxy: gateway, log: o.log.child({ component: 'acme' }) });
    gateway.onRoutesChanged(() => acme.kick());
    acme.start();
    closers.push(async () => acme.close());
    const images = lazyImages(join(o.dataDir, 'images'), o.log.child({ component: 'images' }));
    closers.push(() => images.close());
    const vm = new VmHost({ ...vmEnv(), ...(o.vm ?? {}), dir: join(o.dataDir, 'vms'), log: o.log.child({ component: 'vm' }) });
    // VMs keep running when the node stops; only the monitor stops.
    closers.push(async () => vm.close());
    return { storage, images: images.open, vm, system: new HostSystem(), network, public: pub, gateway, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The image store, opened by the first open() (again after a failed one); close() closes it if it was opened. */
function lazyImages(dir: string, log: Logger): { open: () => Promise<ImageNode>; close: () => Promise<void> } {
  let opened: Promise<ImageNode> | null = null;
  const open = () =>
    (opened ??= import('../../image/index.ts').then((m) => m.openImageStore(dir, { log })).catch((err: unknown) => {
      opened = null;
      throw err;
    }));
  return { open, close: async () => (await opened?.catch(() => null))?.close() };
}

/**
 * ACME settings from the environment: ZOS_ACME_DIRECTORY (the CA's directory URL; default Let's
 * Encrypt production, as zos) and ZOS_ACME_EMAIL (default zos' contact). A CA with a private root
 * (a test's pebble) is trusted through Node's NODE_EXTRA_CA_CERTS.
 */
function acmeEnv(): { directoryUrl: string; email: string } {
  return { directoryUrl: process.env.ZOS_ACME_DIRECTORY || LETS_ENCRYPT, email: process.env.ZOS_ACME_EMAIL || ZOS_ACME_EMAIL };
}

/**
 * VM settings from the environment: ZOS_VM_ACCEL=kvm|tcg|auto, the crash policy
 * ZOS_VM_MAX_CRASHES (within 2 minutes; default 4) and ZOS_VM_RESTART_BACKOFF_MS (default 1000),
 * and ZOS_VM_TB_SIZE (TCG code cache per VM in MiB; default 16).
 */
function vmEnv(): Partial<VmHostOptions> {
  const e = process.env;
  const int = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : undefined);
  const accel = e.ZOS_VM_ACCEL === 'kvm' || e.ZOS_VM_ACCEL === 'tcg' || e.ZOS_VM_ACCEL === 'auto' ? e.ZOS_VM_ACCEL : undefined;
  const maxCrashes = int(e.ZOS_VM_MAX_CRASHES);
  const restartBackoffMs = int(e.ZOS_VM_RESTART_BACKOFF_MS);
  const tbSizeMiB = int(e.ZOS_VM_TB_SIZE);
  return {
    ...(accel ? { accel } : {}), ...(maxCrashes ? { maxCrashes } : {}), ...(restartBackoffMs !== undefined ? { restartBackoffMs } : {}), ...(tbSizeMiB ? { tbSizeMiB } : {}),
  };
}
