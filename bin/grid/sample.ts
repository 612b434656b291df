import { createSocket } from 'node:dgram';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { serveStore, type ImageServer } from '../../image/serve.ts';
import { CliError, CliErrorCode } from './errors.ts';
import { ZOS_BIN } from './nodes.ts';
import { parseSpec, type DeploymentSpec } from './spec.ts';

/**
 * `zos up`'s sample deployment: a VM of the base image (built by `zos image base`, served like
 * `zos image serve` while zos up runs) on a private WireGuard network, with a disk and a volume.
 * Everything is on lab addresses (198.18.0.0/15); the nodes run with --no-nr-egress, so the
 * network reaches nothing of this machine but the user's WireGuard peer, whose wg-quick config
 * zos up writes. Keys and the port are kept in DIR/sample.json: a second `zos up --data-dir DIR`
 * builds the same deployment (same hash) and finds it again.
 */

/** The user network: a /16 of the lab range; the node's part and the user's peer are /24s in it. */
export const SAMPLE_NET = { name: 'net', ipRange: '198.19.0.0/16', subnet: '198.19.2.0/24', vmIp: '198.19.2.2', peerSubnet: '198.19.3.0/24', peerAddress: '198.19.3.2/32' };
const IMAGE_TAG = 'base';

/** Uplink pool of node N (1-based) of `zos up`: lab addresses, distinct per node sharing this host. */
export const nodeUplinkPool = (n: number) => `198.18.${240 + n}.0/24`;

interface SampleKeys {
  nodePrivate: string;
  nodePublic: string;
  userPrivate: string;
  userPublic: string;
  port: number;
  sshPublicKey: string;
  /** The private key beside sshPublicKey, when zos up knows it. */
  sshIdentity: string | null;
}

export interface Sample {
  spec: DeploymentSpec;
  /** wg-quick config of the user's peer. */
  wgConfig: string;
  vmIp: string;
  ssh: string;
  image: ImageServer;
}

async function wgKeyPair(): Promise<{ priv: string; pub: string }> {
  const priv = (await execa('wg', ['genkey'])).stdout.trim();
  return { priv, pub: (await execa('wg', ['pubkey'], { input: priv })).stdout.trim() };
}

/** A UDP port free on this machine now (the NR's wireguard-go listens on it in the node's namespace). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** The user's SSH public key: --ssh-key, else ~/.ssh/id_{ed25519,ecdsa,rsa}.pub, else a key made in DIR/ssh. */
async function sshKey(dataDir: string, given: string | undefined): Promise<{ pub: string; identity: string | null }> {
  const read = async (pubFile: string) => {
    const pub = (await readFile(pubFile, 'utf8').catch(() => '')).trim();
    if (!/^(ssh-|ecdsa-)\S+ \S+/.test(pub)) throw new CliError(CliErrorCode.badFile, `${pubFile} is not an SSH public key`, 'pass --ssh-key FILE.pub');
    const identity = pubFile.endsWith('.pub') && (await exists(pubFile.slice(0, -4))) ? pubFile.slice(0, -4) : null;
    return { pub, identity };
  };
  if (given) return read(given);
  for (const k of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const f = join(homedir(), '.ssh', `${k}.pub`);
    if (await exists(f)) return read(f);
  }
  const own = join(dataDir, 'ssh', 'id_ed25519');
  if (!(await exists(own))) {
    await mkdir(join(dataDir, 'ssh'), { recursive: true, mode: 0o700 });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'zos-up', '-f', own]);
  }
  return read(`${own}.pub`);
}

async function sampleKeys(dataDir: string, sshKeyFile: string | undefined): Promise<SampleKeys> {
  const file = join(dataDir, 'sample.json');
  const kept = await readFile(file, 'utf8').then((t) => JSON.parse(t) as SampleKeys, () => null);
  if (kept && !sshKeyFile) return kept;
  const ssh = await sshKey(dataDir, sshKeyFile);
  const node = kept ? { priv: kept.nodePrivate, pub: kept.nodePublic } : await wgKeyPair();
  const user = kept ? { priv: kept.userPrivate, pub: kept.userPublic } : await wgKeyPair();
  const keys: SampleKeys = {
    nodePrivate: node.priv, nodePublic: node.pub, userPrivate: user.priv, userPublic: user.pub,
    port: kept?.port ?? (await freeUdpPort()), sshPublicKey: ssh.pub, sshIdentity: ssh.identity,
  };
  await writeFile(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return keys;
}

/** Builds the base image into DIR/images (once) with `zos image base`, and serves that store on `port`. */
async function baseImage(dataDir: string, port: number): Promise<ImageServer> {
  const store = join(dataDir, 'images');
  if (!(await exists(join(store, 'tags', IMAGE_TAG)))) {
    const r = await execa(ZOS_BIN, ['image', 'base', '--tag', IMAGE_TAG, '--store', store, '--dir', join(dataDir, 'image-builder')], { reject: false });
    if (r.exitCode !== 0) throw new CliError(CliErrorCode.startFailed, `zos image base failed: ${String(r.stderr).trim()}`, 'it downloads busybox-static and dropbear-bin with apt-get download: check apt');
  }
  try {
    return await serveStore(store, { host: '127.0.0.1', port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new CliError(CliErrorCode.portInUse, `port ${port} is in use`, 'is another `zos up` or `zos image serve` running? stop it, or pass --image-port 0 for a free port');
  }
}

/** Prepares the sample: image built and served, keys, the deployment, the user's wg-quick config. */
export async function prepareSample(o: { dataDir: string; node: number; imagePort: number; sshKey?: string }): Promise<Sample> {
  const keys = await sampleKeys(o.dataDir, o.sshKey);
  const image = await baseImage(o.dataDir, o.imagePort);
  const n = SAMPLE_NET;
  const spec = parseSpec({
    node: o.node, name: 'sample',
    workloads: [
      { name: 'disk', type: 'zmount', size: '1GiB' },
      { name: 'data', type: 'volume', size: '256MiB' },
      {
        name: n.name, type: 'network', ip_range: n.ipRange, subnet: n.subnet, wireguard_private_key: keys.nodePrivate, wireguard_listen_port: keys.port,
        peers: [{ subnet: n.peerSubnet, wireguard_public_key: keys.userPublic, allowed_ips: [n.peerSubnet], endpoint: '' }],
      },
      {
        name: 'vm', type: 'zmachine', flist: `${image.url}/${IMAGE_TAG}.flist`, network: n.name, ip: n.vmIp, cpu: 1, memory: '256MiB',
        mounts: [{ name: 'disk', mountpoint: '/data' }, { name: 'data', mountpoint: '/srv' }], env: { SSH_KEY: keys.sshPublicKey },
      },
    ],
  }, 'sample');
  // wg-quick names the interface after the file: zos-sample.
  const wgConfig = join(o.dataDir, 'zos-sample.conf');
  await writeFile(wgConfig, [
    '# WireGuard from this machine into the network of zos up\'s sample VM: wg-quick up THIS_FILE',
    // The MTU of the network's own WireGuard interface: over loopback wg-quick would pick ~64 KiB.
    '[Interface]', `PrivateKey = ${keys.userPrivate}`, `Address = ${n.peerAddress}`, 'MTU = 1420', '',
    '[Peer]', `PublicKey = ${keys.nodePublic}`, `AllowedIPs = ${n.ipRange}`, `Endpoint = 127.0.0.1:${keys.port}`, 'PersistentKeepalive = 25', '',
  ].join('\n'), { mode: 0o600 });
  const ssh = `ssh ${keys.sshIdentity ? `-i ${keys.sshIdentity} ` : ''}root@${n.vmIp}`;
  return { spec, wgConfig, vmIp: n.vmIp, ssh, image };
}
