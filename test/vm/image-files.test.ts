import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { checkedBootFiles, imageFile } from '../../node/host/vm/image-files.ts';
import type { GuestSeed } from '../../node/host/vm/seed.ts';
import type { VmSpec } from '../../node/host/vm/spec.ts';

const SEED: GuestSeed = { hostname: 'k', nics: [], dns: [], disks: [], shares: [], sshKeys: [], env: {}, entrypoint: [] };

test("an image's boot files (zos getFlistInfo): links stay inside the image, no directories or special files", async (t) => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'zos-imgfiles-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'host file');
  const tree = async (name: string, files: Record<string, string | { link: string } | 'dir' | 'fifo'>) => {
    const root = join(dir, name);
    for (const [p, what] of Object.entries(files)) {
      await mkdir(join(root, p, '..'), { recursive: true });
      if (what === 'dir') await mkdir(join(root, p));
      else if (what === 'fifo') await execa('mkfifo', [join(root, p)]);
      else if (typeof what === 'string') await writeFile(join(root, p), what);
      else await symlink(what.link, join(root, p));
    }
    return root;
  };

  const ok = await tree('ok', { 'boot/vmlinuz-6.1': 'k', 'boot/vmlinuz': { link: 'vmlinuz-6.1' }, 'boot/initrd.img': { link: '/boot/initrd-6.1' } });
  assert.equal(await imageFile(ok, 'boot/vmlinuz'), join(ok, 'boot/vmlinuz-6.1'), 'a relative link inside the image');
  assert.equal(await imageFile(ok, 'boot/initrd.img'), undefined, 'a dangling link counts as absent (zos: stat fails)');
  assert.equal(await imageFile(ok, 'image.raw'), undefined);

  const bad: [string, Record<string, string | { link: string } | 'dir' | 'fifo'>, string, RegExp][] = [
    ['abs', { 'image.raw': { link: '/dev/null' } }, 'image.raw', /^VmError: path '\/image\.raw' points to invalid location$/],
    ['up', { 'boot/initrd.img': { link: '../../outside/secret' } }, 'boot/initrd.img', /^VmError: path '\/boot\/initrd\.img' points to invalid location$/],
    ['parent', { boot: { link: outside } }, 'boot/secret', /^VmError: path '\/boot\/secret' points to invalid location$/],
    ['dir', { 'image.raw': 'dir' }, 'image.raw', /^VmError: path '\/image\.raw' cannot be a directory$/],
    ['fifo', { 'boot/vmlinuz': 'fifo' }, 'boot/vmlinuz', /^VmError: path '\/boot\/vmlinuz' is of invalid type: p---------$/],
  ];
  for (const [name, files, rel, err] of bad) await assert.rejects(imageFile(await tree(name, files), rel), err, name);
});

test("a kernel-mode VM's kernel is checked again at each launch: what its guest linked out of its root never reaches QEMU", async (t) => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'zos-imgfiles-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  await mkdir(join(root, 'boot'), { recursive: true });
  await writeFile(join(root, 'boot/vmlinuz-6.1'), 'k');
  await symlink('vmlinuz-6.1', join(root, 'boot/vmlinuz'));
  const spec: VmSpec = {
    id: '7-1-k', cpu: 1, memoryBytes: 1, disks: [], nics: [], shares: [{ tag: 'vroot', path: root }],
    boot: { kind: 'kernel', kernel: join(root, 'boot/vmlinuz'), initrd: join(root, 'boot/initrd.img'), seed: SEED },
  };
  const checked = await checkedBootFiles(spec);
  assert.deepEqual(checked.boot, { ...spec.boot, kernel: join(root, 'boot/vmlinuz-6.1'), initrd: undefined }, 'links followed inside the root; a missing initrd is left out');
  // The guest upgrades its kernel by moving the link: the next launch boots the new one.
  await writeFile(join(root, 'boot/vmlinuz-6.2'), 'k2');
  await rm(join(root, 'boot/vmlinuz'));
  await symlink('vmlinuz-6.2', join(root, 'boot/vmlinuz'));
  const upgraded = (await checkedBootFiles(spec)).boot;
  assert.equal(upgraded.kind === 'kernel' ? upgraded.kernel : '', join(root, 'boot/vmlinuz-6.2'));
  await rm(join(root, 'boot/vmlinuz'));
  await symlink('/etc/hostname', join(root, 'boot/vmlinuz'));
  await assert.rejects(checkedBootFiles(spec), /^VmError: path '\/boot\/vmlinuz' points to invalid location$/);
  await rm(join(root, 'boot/vmlinuz'));
  await assert.rejects(checkedBootFiles(spec), /the vm's kernel \/boot\/vmlinuz is gone from its root/);
  const full: VmSpec = { ...spec, boot: { kind: 'kernel', kernel: '/tree/boot/vmlinuz', root: 'disk', seed: SEED } };
  assert.equal(await checkedBootFiles(full), full, 'a full VM boots the verified image tree, as given');
});
