import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeSeedDisk } from '../../node/host/vm/cidata.ts';
import { renderCloudInit } from '../../node/host/vm/cloudinit.ts';
import type { GuestSeed } from '../../node/host/vm/seed.ts';
import { listsMounts, qemuArgs, type VmSpec } from '../../node/host/vm/spec.ts';
import { requireHost } from '../helpers/host.ts';

/** A full VM on a private network (no default route there) with a public NIC holding both defaults. */
const SEED: GuestSeed = {
  hostname: 'on',
  nics: [
    // All digits: YAML 1.1 (cloud-init's PyYAML) would read it unquoted as a base-60 number.
    // The private NIC's NR ULA; the public NIC's IPv6 takes the default route.
    { mac: '12:34:56:10:20:30', cidr: '198.18.78.9/24', gateway: '198.18.78.1', routes: ['198.18.0.0/16', '100.64.0.0/16'], cidr6: 'fd37:6148:3153:4e::9/64', gateway6: 'fd37:6148:3153:4e::1', routes6: [] },
    { mac: '02:ab:cd:ef:01:02', cidr: '198.18.5.7/24', gateway: '198.18.5.1', routes: ['0.0.0.0/0'], cidr6: '2001:db8:5::7/64', gateway6: '2001:db8:5::1', routes6: ['::/0'] },
  ],
  dns: ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888'],
  disks: [{ device: 'vdb', mountpoint: '/data' }],
  shares: [],
  sshKeys: ['ssh-ed25519 AAAAC3Nza one@host', 'ssh-rsa AAAAB3Nza two@host'],
  env: { SSH_KEY: 'ssh-ed25519 AAAAC3Nza one@host,ssh-rsa AAAAB3Nza two@host', MSG: "it's" },
  entrypoint: ['/sbin/init', '--log', 'a b'],
};

test('cloud-init documents: meta-data, network-config by MAC, user-data and zosrc as zos writes them, YAML 1.1-safe', () => {
  const files = renderCloudInit('7-1-full', SEED);
  assert.equal(files['meta-data'], 'instance-id: 7-1-full\nlocal-hostname: "on"\n');
  assert.equal(files['network-config'], [
    'version: 2',
    'ethernets:',
    '  eth0:',
    '    match:',
    '      macaddress: "12:34:56:10:20:30"',
    '    set-name: eth0',
    '    dhcp4: false',
    '    addresses:',
    '      - 198.18.78.9/24',
    '      - fd37:6148:3153:4e::9/64',
    '    routes:',
    '      - to: 198.18.0.0/16',
    '        via: 198.18.78.1',
    '      - to: 100.64.0.0/16',
    '        via: 198.18.78.1',
    '    nameservers:',
    '      addresses:',
    '        - 8.8.8.8',
    '        - 1.1.1.1',
    '        - 2001:4860:4860::8888',
    '  eth1:',
    '    match:',
    '      macaddress: 02:ab:cd:ef:01:02',
    '    set-name: eth1',
    '    dhcp4: false',
    '    addresses:',
    '      - 198.18.5.7/24',
    '      - 2001:db8:5::7/64',
    '    gateway4: 198.18.5.1',
    '    gateway6: 2001:db8:5::1',
    '',
  ].join('\n'));
  assert.equal(files['user-data'], [
    '#cloud-config',
    'users:',
    '  - name: root',
    '    ssh_authorized_keys:',
    '      - ssh-ed25519 AAAAC3Nza one@host',
    '      - ssh-rsa AAAAB3Nza two@host',
    'mounts: []',
    '',
  ].join('\n'));
  assert.equal(files.zosrc, [
    "export SSH_KEY='ssh-ed25519 AAAAC3Nza one@host,ssh-rsa AAAAB3Nza two@host'",
    // zos' quoting of a single quote.
    `export MSG='it'"'"'s'`,
    "init='/sbin/init'",
    "set -- '--log' 'a b'",
    '',
  ].join('\n'));

  // One private NIC with both default routes (no public IP), no key, no entrypoint: gateway4 and gateway6 (the NR's ULA .1) there, no nameservers, an empty users list (zos: no default user).
  const nic = { mac: '02:00:00:00:00:01', cidr: '198.18.1.2/24', gateway: '198.18.1.1', routes: ['0.0.0.0/0'] };
  const plain = renderCloudInit('7-2-vm', { ...SEED, hostname: 'vm', sshKeys: [], env: {}, entrypoint: [], dns: [], nics: [{ ...nic, cidr6: 'fd37:6148:3153:1::2/64', gateway6: 'fd37:6148:3153:1::1', routes6: ['::/0'] }] });
  assert.equal(plain['network-config'], [
    'version: 2',
    'ethernets:',
    '  eth0:',
    '    match:',
    '      macaddress: "02:00:00:00:00:01"',
    '    set-name: eth0',
    '    dhcp4: false',
    '    addresses:',
    '      - 198.18.1.2/24',
    '      - fd37:6148:3153:1::2/64',
    '    gateway4: 198.18.1.1',
    '    gateway6: fd37:6148:3153:1::1',
    '',
  ].join('\n'));
  // zmachine-light: no IPv6 on the private NIC.
  assert.equal(renderCloudInit('7-2-vm', { ...SEED, dns: [], nics: [nic] })['network-config'], 'version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: "02:00:00:00:00:01"\n    set-name: eth0\n    dhcp4: false\n    addresses:\n      - 198.18.1.2/24\n    gateway4: 198.18.1.1\n');
  assert.equal(plain['user-data'], '#cloud-config\nusers: []\nmounts: []\n');
  assert.equal(plain.zosrc, '');
  assert.throws(() => renderCloudInit('x', { ...SEED, env: { 'A;reboot': '1' } }), /invalid env variable name 'A;reboot'/);
});

test('cloud-init user-data of a kernel-mode VM (virtiofs root) lists its zmounts by device and volumes by tag, as zos', () => {
  const seed: GuestSeed = { ...SEED, sshKeys: [], disks: [{ device: 'vda', mountpoint: '/data' }, { device: 'vdb', mountpoint: '/on' }], shares: [{ tag: 'vol', mountpoint: '/srv/v' }] };
  assert.equal(renderCloudInit('7-1-k', seed, true)['user-data'], [
    '#cloud-config',
    'users: []',
    'mounts:',
    '  - - /dev/vda',
    '    - /data',
    '    - auto',
    '    - defaults',
    '    - "0"',
    '    - "0"',
    '  - - /dev/vdb',
    '    - /on',
    '    - auto',
    '    - defaults',
    '    - "0"',
    '    - "0"',
    '  - - vol',
    '    - /srv/v',
    '    - virtiofs',
    '    - defaults',
    '    - "0"',
    '    - "0"',
    '',
  ].join('\n'));
  assert.match(renderCloudInit('7-1-k', seed)['user-data'], /^mounts: \[\]$/m, 'not listed unless asked (a full VM)');
});

test('qemu args: every VM gets the seed disk read-only after its own disks, and nothing over fw_cfg; a virtiofs root has its mounts listed', () => {
  const base: VmSpec = { id: '7-1-full', cpu: 1, memoryBytes: 256 * 1024 * 1024, disks: [{ path: '/d/boot' }, { path: '/d/data' }], shares: [], nics: [], boot: { kind: 'disk', seed: SEED } };
  const p = { dir: '/vms/7-1-full', kernel: '/k', initramfs: '/i' };
  const drives = (spec: VmSpec) => qemuArgs(spec, 'tcg', p).filter((_, i, a) => a[i - 1] === '-drive');
  const ci = 'file=/vms/7-1-full/cidata.img,format=raw,if=none,id=ci,readonly=on';
  assert.deepEqual(drives(base), ['file=/d/boot,format=raw,if=none,id=d0', 'file=/d/data,format=raw,if=none,id=d1', ci]);
  assert.ok(qemuArgs(base, 'tcg', p).includes('virtio-blk-pci,drive=ci'));
  const fullKernel: VmSpec = { ...base, boot: { kind: 'kernel', kernel: '/k', root: 'disk', seed: SEED } };
  const kernelMode: VmSpec = { ...base, shares: [{ tag: 'vroot', path: '/r' }], boot: { kind: 'kernel', kernel: '/img/boot/vmlinuz', seed: SEED } };
  const container: VmSpec = { ...base, shares: [{ tag: 'vroot', path: '/r' }], boot: { kind: 'container', seed: SEED } };
  for (const spec of [fullKernel, kernelMode, container]) {
    assert.equal(drives(spec)[2], ci, spec.boot.kind);
    assert.ok(!qemuArgs(spec, 'tcg', p).includes('-fw_cfg'), spec.boot.kind);
  }
  assert.deepEqual([base, fullKernel, kernelMode, container].map((s) => listsMounts(s.boot)), [false, false, true, true]);
});

test('seed disk: vfat labelled cidata holding the four files, built without mounting; a failure leaves nothing', async (t) => {
  const tools = await Promise.all(['mkfs.fat', 'mcopy'].map((c) => execa('which', [c], { reject: false }).then((r) => r.exitCode === 0)));
  if (!requireHost(t, tools.every(Boolean), 'the seed disk needs dosfstools and mtools (.ci/debian-packages)')) return;
  const dir = await mkdtemp(join(tmpdir(), 'zos-cidata-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = renderCloudInit('7-1-full', SEED);
  const disk = join(dir, 'cidata.img');
  await writeSeedDisk(disk, files);
  const probe = (await execa('blkid', ['-p', '-o', 'export', disk])).stdout;
  assert.match(probe, /^LABEL=cidata$/m);
  assert.match(probe, /^TYPE=vfat$/m);
  for (const [name, text] of Object.entries(files)) {
    assert.equal((await execa('mtype', ['-i', disk, `::/${name}`], { stripFinalNewline: false })).stdout, text, name);
  }
  // Written again (a restart), it is replaced whole.
  await writeSeedDisk(disk, { ...files, 'meta-data': 'instance-id: 7-1-full\nlocal-hostname: other\n' });
  assert.match((await execa('mtype', ['-i', disk, '::/meta-data'])).stdout, /local-hostname: other/);
  assert.deepEqual(await readdir(dir), ['cidata.img']);

  // mcopy failing after mkfs.fat made the disk (a stand-in first on PATH): no disk, no temp file, no staged files.
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'mcopy'), '#!/bin/sh\necho "mcopy: disk full" >&2\nexit 1\n', { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  const vm2 = join(dir, 'vm2');
  await mkdir(vm2);
  try {
    await assert.rejects(writeSeedDisk(join(vm2, 'cidata.img'), files), /failed to create cloud-init image: mcopy .*: exit code 1: mcopy: disk full/);
  } finally {
    process.env.PATH = path;
  }
  assert.deepEqual(await readdir(vm2), [], 'nothing half-made');
});
