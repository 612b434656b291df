import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, link, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify as stringifyToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { openImageStore } from '../../image/index.ts';
import { serveStore } from '../../image/serve.ts';
import { silentLogger } from '../../lib/log.ts';
import { parseIP } from '../../node/model/goformat.ts';
import { convert4to6, parseIPv4 } from '../../node/host/network/addr.ts';
import { StorageHost } from '../../node/host/storage/index.ts';
import { VmHost } from '../../node/host/vm/host.ts';
import type { DeploymentView, PrimitiveContext } from '../../node/primitives/types.ts';
import { networkId, uniqueName } from '../../node/model/ids.ts';
import { macOf } from '../../node/primitives/zmachine/mac.ts';
import { machinePrimitive, type MachineConfig, type TapAttacher } from '../../node/primitives/zmachine/machine.ts';
import { needBtrfs } from '../node/storage-env.ts';
import { buildFullVmImage, buildInto, buildKernelVmImage, buildTestImage, cleanupStack, curlIn, labNetns, processesWith, requireVmHost, sshKey, tempDir } from './fixtures.ts';

const MiB = 1024 * 1024;
const TWIN = 7;

/**
 * The machine primitive against real hosts (btrfs pool on a loop device, the image store, QEMU)
 * with a deployment view and a tap attacher of the test's own (the lab bridge stands for the
 * NR bridge): bad input fails with a clear error and leaves nothing; one VM boots, gets its
 * root volume and disk, answers on the network, and deprovision removes everything.
 */
test('zmachine primitive: bad input leaves nothing; a VM with a disk and volume, a full VM from its own disk image and kernel, and a kernel-mode VM with its own kernel over the virtiofs root, boot and are removed without a trace', async (t) => {
  if (!(await requireVmHost(t)) || !(await needBtrfs(t))) return;
  const defer = cleanupStack(t);
  const dir = await tempDir(defer);
  const lab = await labNetns(defer, 78);
  const image = await buildTestImage(dir);
  const fullImage = await buildFullVmImage(dir, image.store);
  const kernelDigest = await buildKernelVmImage(dir, image.store);
  // An image whose /image.raw links to a host device: resolved by the host, a full VM would get the host's disk.
  await mkdir(join(dir, 'evil-src'));
  await symlink('/dev/null', join(dir, 'evil-src/image.raw'));
  await buildInto(dir, join(dir, 'evil-src'), image.store, 'test/evil:1');
  // The base image with a .startup.toml (as zos' converted containers carry): its entrypoint and env.
  await execa('cp', ['-a', image.src, join(dir, 'startup-src')]);
  const script = 'mkdir -p /www; echo "$MSG" > /www/index.html; echo "$FROM_IMAGE" > /www/image-env; df -k /data | tail -1 > /www/df; echo hi > /vol/x; exec httpd -f -p 80 -h /www';
  await writeFile(join(dir, 'startup-src/.startup.toml'), stringifyToml({
    startup: { entry: { name: 'core.system', args: { name: '/bin/sh', args: ['-c', script], env: { MSG: 'from the image', FROM_IMAGE: 'image env' } } } },
  }));
  await buildInto(dir, join(dir, 'startup-src'), image.store, 'test/startup:1');
  // Read on the host, a .startup.toml linking out of the image would hand a host file to the VM.
  await mkdir(join(dir, 'evil-startup-src'));
  await symlink('/etc/hostname', join(dir, 'evil-startup-src/.startup.toml'));
  await buildInto(dir, join(dir, 'evil-startup-src'), image.store, 'test/evil-startup:1');
  const server = await serveStore(image.store, { host: '127.0.0.1', port: 0 });
  defer(() => server.close());
  const flist = `${server.url}/test/base:1.flist`;
  const fullFlist = `${server.url}/test/full:1.flist`;
  const kernelFlist = `${server.url}/test/kernel:1.flist`;

  const storage = new StorageHost({ dataDir: join(dir, 'storage'), pools: [{ name: 'default', image: { size: 4096 * MiB } }], log: silentLogger() });
  await storage.start();
  defer(() => storage.close());
  const images = await openImageStore(join(dir, 'images'));
  defer(() => images.close());
  const vm = new VmHost({ dir: join(dir, 'vms'), log: silentLogger(), accel: 'tcg', monitorMs: 500 });
  defer(() => vm.close());

  const taps = new Set<string>();
  const network: TapAttacher = {
    async attachTap(twin, name, key) {
      if (name !== 'net1') throw new Error(`could not get network resource subnet: couldn't load network with id (${name}): no such network`);
      const tap = `tp${key.slice(0, 8)}`;
      await execa('ip', ['-n', lab.netns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await execa('ip', ['-n', lab.netns, 'link', 'set', tap, 'master', lab.bridge, 'up']);
      taps.add(tap);
      return { tap, subnet: lab.subnet, gateway: lab.gateway, ipRange: null };
    },
    async detachTap(tap) {
      await execa('ip', ['-n', lab.netns, 'link', 'del', tap], { reject: false });
      taps.delete(tap);
    },
  };
  const hosts = { vm, images: async () => images, network, tapNetns: lab.netns, storage };
  const m = machinePrimitive('zmachine', hosts);
  const light = machinePrimitive('zmachine-light', hosts);
  // The lab bridge stands for the NR's private side: zos' ULA gateway of net1 on it too.
  const ula = (ip: string) => convert4to6(networkId(TWIN, 'net1'), parseIPv4(ip)!);
  await execa('ip', ['-n', lab.netns, 'addr', 'add', `${ula(lab.gateway)}/64`, 'dev', lab.bridge, 'nodad']);
  const vm6 = `http://[${ula('198.18.78.9')}]`;

  // The deployment: a zmount `disk` and a volume `vol`, made through the storage host as their primitives do.
  await storage.createDisk('7-1-disk', 300 * MiB);
  await storage.createSubvolume('7-1-vol', 100 * MiB);
  await storage.createDisk('7-1-boot', 128 * MiB);
  await storage.createDisk('7-1-tiny', 16 * MiB);
  const others: Record<string, { type: string; state: string; id: string }> = {
    disk: { type: 'zmount', state: 'ok', id: '7-1-disk' },
    vol: { type: 'volume', state: 'ok', id: '7-1-vol' },
    broken: { type: 'zmount', state: 'error', id: '7-1-broken' },
    boot: { type: 'zmount', state: 'ok', id: '7-1-boot' },
    tiny: { type: 'zmount', state: 'ok', id: '7-1-tiny' },
  };
  const view = {
    get: (name: string) => {
      const o = others[name];
      return o && { type: o.type, state: o.state, workload: { twin: TWIN, contract: 1, name, id: o.id } };
    },
  } as unknown as DeploymentView;
  const ctx = (name: string): PrimitiveContext => ({
    workload: { twin: TWIN, contract: 1, name, id: `7-1-${name}` }, deployment: view, log: silentLogger(), signal: new AbortController().signal,
  });
  const config = (o: Partial<MachineConfig> & { ip?: string; net?: string } = {}): MachineConfig => ({
    flist, size: 0, compute_capacity: { cpu: 1, memory: 256 * MiB }, entrypoint: '', env: {}, gpu: [],
    mounts: [{ name: 'disk', mountpoint: '/data' }, { name: 'vol', mountpoint: '/vol' }],
    network: { interfaces: [{ network: o.net ?? 'net1', ip: parseIP(o.ip ?? '198.18.78.9') }] },
    ...o,
  });
  const nothingLeft = async (name: string) => {
    assert.deepEqual([...taps], [], `${name}: taps detached`);
    assert.equal(await storage.subvolumeInfo(`rootfs.7-1-${name}`), undefined, `${name}: root volume removed`);
    assert.deepEqual(await readdir(join(dir, 'images/roots')).catch(() => []), [], `${name}: no workload root`);
    assert.deepEqual(await readdir(join(dir, 'vms')).then((l) => l.filter((f) => !f.startsWith('.')), () => []), [], `${name}: no vm dir`);
  };

  const bad: [string, MachineConfig, RegExp][] = [
    ['unknownnet', config({ net: 'nope' }), /could not get network resource subnet/],
    ['outside', config({ ip: '198.18.99.9' }), /IP 198\.18\.99\.9 is not part of local nr subnet 198\.18\.78\.0\/24/],
    ['gw', config({ ip: '198.18.78.1' }), /ip 198\.18\.78\.1 is reserved/],
    ['nodisk', config({ mounts: [{ name: 'missing', mountpoint: '/m' }] }), /expecting a reservation of type 'zmount' or 'qsfs' for disk 'missing'/],
    ['baddisk', config({ mounts: [{ name: 'broken', mountpoint: '/m' }] }), /invalid disk 'broken' state/],
    ['unreachable', config({ flist: 'http://127.0.0.1:9/x.flist' }), /failed to download flist 'http:\/\/127\.0\.0\.1:9\/x\.flist'/],
    ['gpu', config({ gpu: ['0000:28:00.0/1002/731f'] }), /unknown GPU id '0000:28:00\.0\/1002\/731f'/],
    ['cpus', config({ compute_capacity: { cpu: 255, memory: 256 * MiB } }), /invalid cpu must be between 1 and \d+/],
    ['fullnomount', config({ flist: fullFlist, mounts: [] }), /^Error: at least one mount has to be attached for Vm mode$/],
    ['fullvolume', config({ flist: fullFlist, mounts: [{ name: 'vol', mountpoint: '/' }] }), /^Error: mount is not a valid disk workload$/],
    ['fullbroken', config({ flist: fullFlist, mounts: [{ name: 'broken', mountpoint: '/' }] }), /^Error: boot disk was not deployed correctly$/],
    ['fullsmall', config({ flist: fullFlist, mounts: [{ name: 'tiny', mountpoint: '/' }] }), /^Error: image size is bigger than disk$/],
    ['evilstartup', config({ flist: `${server.url}/test/evil-startup:1.flist` }), /^Error: failed to apply startup config from flist: path '\/\.startup\.toml' points to invalid location$/],
    ['evil', config({ flist: `${server.url}/test/evil:1.flist`, mounts: [{ name: 'boot', mountpoint: '/' }] }), /path '\/image\.raw' points to invalid location$/],
    ['mycelium', config({ network: { interfaces: [{ network: 'net1', ip: parseIP('198.18.78.9') }], mycelium: { Network: 'net1', hex_seed: new Uint8Array(6) } } }), /network resource does not support mycelium/],
  ];
  for (const [name, cfg, err] of bad) {
    await assert.rejects(m.provision(ctx(name), cfg), err, name);
    await nothingLeft(name);
  }

  // Tampering with a file of the node's verified copy refuses the VM, naming the file.
  const pulled = await images.pull('test/base:1', image.store);
  const tree = (await images.materialize(`blake3:${pulled.digest}`)).path;
  await appendFile(join(tree, 'etc/inittab'), '# tampered\n');
  await assert.rejects(m.provision(ctx('tampered'), config()), /etc\/inittab/);
  await nothingLeft('tampered');
  await images.cache.remove(pulled.digest);

  // A zmachine-light VM: no entrypoint of its own, so the image's .startup.toml one runs, with the
  // image's env and the deployment's (which wins where both name MSG); the disk formatted and
  // mounted, the volume shared.
  const cfg = config({ flist: `${server.url}/test/startup:1.flist`, entrypoint: '', env: { MSG: 'served by the entrypoint' } });
  const res = await light.provision(ctx('vm'), cfg);
  assert.deepEqual(res, { id: '7-1-vm', ip: '198.18.78.9', mycelium_ip: '', console_url: '' });
  await assert.rejects(light.provision(ctx('vm'), cfg), (e: Error) => e.message === 'no action needed', 'a running VM is left alone');
  // Its IP is taken for another VM on the network; nothing of that one is left.
  await assert.rejects(light.provision(ctx('vm2'), cfg), /private ip 198\.18\.78\.9 is being used by another vm/);
  assert.equal(taps.size, 1, 'only the running VM keeps a tap');
  assert.equal(vm.info('7-1-vm2'), undefined);
  assert.equal((await curlIn(lab.netns, 'http://198.18.78.9/')).trim(), 'served by the entrypoint');
  assert.equal((await curlIn(lab.netns, 'http://198.18.78.9/image-env')).trim(), 'image env');
  // A container-mode VM is told all of it (address, mounts, env, entrypoint) on zos' cloud-init disk, nothing over fw_cfg.
  const ciFile = async (name: string) => (await execa('mtype', ['-i', join(dir, 'vms/7-1-vm/cidata.img'), `::/${name}`])).stdout;
  const net = parseYaml(await ciFile('network-config'));
  assert.deepEqual(net.ethernets.eth0.nameservers.addresses, ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888'], "zos' nameservers");
  assert.deepEqual(net.ethernets.eth0.addresses, ['198.18.78.9/24'], 'zmachine-light: no IPv6 on the private NIC, as zos');
  assert.deepEqual(parseYaml(await ciFile('user-data')).mounts, [['/dev/vda', '/data', 'auto', 'defaults', '0', '0'], ['vol', '/vol', 'virtiofs', 'defaults', '0', '0']]);
  const zosrc = await ciFile('zosrc');
  assert.match(zosrc, /^export MSG='served by the entrypoint'$/m);
  assert.match(zosrc, /^export FROM_IMAGE='image env'$/m);
  assert.match(zosrc, /^init='\/bin\/sh'$/m, "the image's entrypoint");
  assert.match((await vm.consoleTail('7-1-vm', 16384)).replace(/\r/g, ''), /zos-init: seed from \/dev\/vdb \(cidata\)\n/, 'the guest init read it, after the zmount (vda)');
  assert.ok(!(await readFile(`/proc/${vm.info('7-1-vm')!.pid}/cmdline`, 'utf8')).includes('fw_cfg'));
  const kib = Number((await curlIn(lab.netns, 'http://198.18.78.9/df')).trim().split(/\s+/)[1]);
  assert.ok(kib > 250 * 1024 && kib <= 300 * 1024, `disk size ${kib} KiB`);
  const vol = await storage.subvolumeInfo('7-1-vol');
  assert.equal((await execa('cat', [join(vol!.path, 'x')])).stdout, 'hi');
  const rootVol = await storage.subvolumeInfo('rootfs.7-1-vm');
  assert.equal(rootVol?.size, 500 * MiB, 'root layer on a volume of max(size, minimum root)');
  await stat(join(rootVol!.path, 'upper/www/index.html'));

  // The VM's record names its image's tree, which the cache's gc keeps while the VM runs.
  const idle = (period: number, holding: string[]) => light.idle!({
    workloads: [], log: silentLogger(), signal: new AbortController().signal, holding: new Map(holding.map((id) => [id, 'zmachine-light'])), busy: () => false, period,
  });
  const digest = images.cache.uses.all().get('7-1-vm')!;
  const vmTree = images.cache.treePath(digest);
  await idle(1, ['7-1-vm']);
  assert.ok((await stat(vmTree)).isDirectory(), 'a tree a running VM uses stays');
  const vmFiles = new Set<number>();
  for (const e of await readdir(vmTree, { recursive: true, withFileTypes: true })) if (e.isFile()) vmFiles.add((await stat(join(e.parentPath, e.name))).ino);
  // An older node's cache left an object under the fan-out (objects/<2 hex>/<key>) that an old tree
  // still links: the cache's gc, in the engine's next idle period, gives it its flat name (image/cache-gc.ts).
  const objects = join(dir, 'images/cache/objects');
  const oldKey = 'f'.repeat(64);
  await mkdir(join(objects, 'ff'));
  await writeFile(join(objects, 'ff', oldKey), 'old');
  await link(join(objects, 'ff', oldKey), join(dir, 'old-tree-file'));
  await light.deprovision(ctx('vm'));
  await nothingLeft('vm');
  assert.equal(images.cache.uses.all().has('7-1-vm'), false, 'its record goes with the VM');
  await idle(2, []);
  assert.equal(await stat(vmTree).catch(() => null), null, 'the removed VM\'s tree is gone');
  for (const k of await readdir(objects)) assert.ok(!vmFiles.has((await stat(join(objects, k))).ino), `object ${k} of the removed VM's tree is gone`);
  assert.equal(await stat(join(objects, 'ff')).catch(() => null), null, 'the fan-out directory is gone');
  assert.equal((await stat(join(objects, oldKey))).ino, (await stat(join(dir, 'old-tree-file'))).ino, 'its object kept under the flat name');
  assert.deepEqual(await processesWith(join(dir, 'vms')), [], 'no qemu or virtiofsd left');

  // A full VM: its image.raw written onto the boot disk (mounts[0]), booted with the image's own
  // kernel and initrd, told its hostname, SSH key and network on a cloud-init seed disk.
  const bootDisk = (await storage.diskInfo('7-1-boot'))!.path;
  const { pub } = await sshKey(dir);
  const full = await m.provision(ctx('full'), config({ flist: fullFlist, mounts: [{ name: 'boot', mountpoint: '/' }], env: { SSH_KEY: pub } }));
  assert.deepEqual(full, { id: '7-1-full', ip: '198.18.78.9', mycelium_ip: '', console_url: '' });
  assert.match((await execa('blkid', ['-p', bootDisk])).stdout, /TYPE="ext4"/, 'the image is on the boot disk');
  assert.equal((await execa('stat', ['-c', '%s', bootDisk])).stdout, String(128 * MiB), 'the disk keeps its size');
  assert.ok(fullImage.rawBytes < 128 * MiB);
  // The guest serves its hostname once it has read the seed disk and put the address on the NIC it names.
  assert.equal((await curlIn(lab.netns, 'http://198.18.78.9/hostname', 120_000)).trim(), 'full', 'hostname from meta-data, address from network-config');
  const consoleText = (await vm.consoleTail('7-1-full', 16384)).replace(/\r/g, '');
  assert.match(consoleText, /fullvm: up, root \/dev\/vda/, 'the image\'s own init runs from /dev/vda');
  assert.match(consoleText, /fullvm: cidata on \/dev\/vd[b-z], read-only 1/, 'the seed disk is found by its label, read-only');
  const seedFile = (text: string, tag: string, name: string) => {
    const block = text.split(`${tag}: --- ${name}\n`)[1]?.split(`${tag}: --- `)[0] ?? '';
    return parseYaml(block.split('\n').filter((l) => l.startsWith(`${tag}: | `)).map((l) => l.slice(`${tag}: | `.length)).join('\n'));
  };
  const mac = macOf(uniqueName('7-1-full', 'net1'));
  assert.deepEqual(seedFile(consoleText, 'fullvm', 'meta-data'), { 'instance-id': '7-1-full', 'local-hostname': 'full' });
  assert.deepEqual(seedFile(consoleText, 'fullvm', 'user-data'), { users: [{ name: 'root', ssh_authorized_keys: [pub] }], mounts: [] });
  assert.deepEqual(seedFile(consoleText, 'fullvm', 'network-config'), {
    version: 2,
    ethernets: {
      eth0: {
        match: { macaddress: mac }, 'set-name': 'eth0', dhcp4: false, addresses: ['198.18.78.9/24', `${ula('198.18.78.9')}/64`],
        gateway4: lab.gateway, gateway6: ula(lab.gateway), routes: [{ to: '100.64.0.0/16', via: lab.gateway }],
        nameservers: { addresses: ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888'] },
      },
    },
  });
  assert.match(consoleText, new RegExp(`fullvm: eth0 ${mac} 198\\.18\\.78\\.9/24`), 'the NIC with that MAC took the address');
  assert.equal((await curlIn(lab.netns, `${vm6}/hostname`)).trim(), 'full', 'and its IPv6');
  assert.equal(await storage.subvolumeInfo('rootfs.7-1-full'), undefined, 'a full VM has no virtiofs root layer');
  await m.deprovision(ctx('full'));
  await nothingLeft('full');
  assert.deepEqual(await processesWith(join(dir, 'vms')), [], 'no qemu left');

  // A kernel-mode VM (the image has /boot/vmlinuz): its own kernel and initrd over the virtiofs
  // root, the entrypoint as init=, and the same cloud-init seed disk, whose mounts it applies.
  const kres = await m.provision(ctx('kvm'), config({ flist: kernelFlist, entrypoint: '/sbin/seed-reader', env: { SSH_KEY: pub } }));
  assert.deepEqual(kres, { id: '7-1-kvm', ip: '198.18.78.9', mycelium_ip: '', console_url: '' });
  assert.equal((await curlIn(lab.netns, 'http://198.18.78.9/hostname', 120_000)).trim(), 'kvm', 'hostname from meta-data, address from network-config');
  const kText = (await vm.consoleTail('7-1-kvm', 16384)).replace(/\r/g, '');
  assert.match(kText, /kernelvm: initrd of the image/, 'the image\'s own initrd ran');
  assert.match(kText, /kernelvm: up, root vroot\n/, 'the root is the image over virtiofs');
  assert.match(kText, /kernelvm: cmdline .*root=vroot rootfstype=virtiofs.* init=\/sbin\/seed-reader/);
  assert.match(kText, /kernelvm: cidata on \/dev\/vdb, read-only 1/, 'the seed disk follows the zmount (vda), read-only');
  const kmac = macOf(uniqueName('7-1-kvm', 'net1'));
  assert.deepEqual(seedFile(kText, 'kernelvm', 'meta-data'), { 'instance-id': '7-1-kvm', 'local-hostname': 'kvm' });
  assert.deepEqual(seedFile(kText, 'kernelvm', 'user-data'), {
    users: [{ name: 'root', ssh_authorized_keys: [pub] }],
    mounts: [['/dev/vda', '/data', 'auto', 'defaults', '0', '0'], ['vol', '/vol', 'virtiofs', 'defaults', '0', '0']],
  });
  assert.equal(seedFile(kText, 'kernelvm', 'network-config').ethernets.eth0.match.macaddress, kmac);
  assert.match(kText, new RegExp(`kernelvm: eth0 ${kmac} 198\\.18\\.78\\.9/24`), 'the NIC with that MAC took the address');
  assert.equal((await curlIn(lab.netns, `${vm6}/hostname`)).trim(), 'kvm', 'and its IPv6');
  assert.match(kText, /kernelvm: mounted \/dev\/vda on \/data \(auto\)/);
  assert.match(kText, /kernelvm: mounted vol on \/vol \(virtiofs\)/);
  const kdf = Number((await curlIn(lab.netns, 'http://198.18.78.9/df-1')).trim().split(/\s+/)[1]);
  assert.ok(kdf > 250 * 1024 && kdf <= 300 * 1024, `disk size ${kdf} KiB`);
  assert.equal((await execa('cat', [join(vol!.path, 'written-by')])).stdout, 'kernelvm', 'the volume is shared');
  const qemuCmd = (await readFile(`/proc/${vm.info('7-1-kvm')!.pid}/cmdline`, 'utf8')).split('\0');
  const kernelArg = qemuCmd[qemuCmd.indexOf('-kernel') + 1]!;
  assert.ok(kernelArg.startsWith(join(dir, 'images')) && kernelArg.endsWith('/boot/vmlinuz'), `QEMU boots the image's kernel: ${kernelArg}`);
  // zos: a VM's new root loses the image's SSH host keys; the shared image keeps them.
  assert.deepEqual(await readdir(join(dir, 'images/roots/7-1-kvm/root/etc/ssh')), ['sshd_config']);
  assert.deepEqual((await readdir(join((await images.materialize(`blake3:${kernelDigest}`)).path, 'etc/ssh'))).sort(), ['ssh_host_ed25519_key', 'sshd_config']);
  await m.deprovision(ctx('kvm'));
  await nothingLeft('kvm');
  assert.deepEqual(await processesWith(join(dir, 'vms')), [], 'no qemu left');
});
