import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { DirStore } from '../../image/store/dir-store.ts';
import { requireHost } from '../helpers/host.ts';
import { tempDir } from './fixtures.ts';

/** Where a directory store puts its chunk files on disk (image/store/dir-store.ts). */

test('store layout: a new store directory is the top of a hierarchy (chattr +T) on ext4, so tmp/ and chunks/ get block groups of their own', async (t) => {
  const dir = await tempDir(t);
  const fs = (await execa('stat', ['-f', '-c', '%T', dir])).stdout.trim();
  const hasChattr = (await execa('which', ['chattr'], { reject: false })).exitCode === 0;
  if (!requireHost(t, fs === 'ext2/ext3' && hasChattr, `the temp dir is on ${fs} with${hasChattr ? '' : 'out'} chattr: the flag is ext4's, set with e2fsprogs' chattr`)) return;
  const store = await DirStore.open(join(dir, 'store'));
  const flags = (await execa('lsattr', ['-d', store.location])).stdout.split(/\s+/)[0]!;
  assert.ok(flags.includes('T'), `store flags: ${flags}`);
  // its subdirectories are ordinary (the flag is not inherited by what a build creates in them)
  assert.ok(!(await execa('lsattr', ['-d', join(store.location, 'tmp')])).stdout.split(/\s+/)[0]!.includes('T'));
  // where there is no chattr to run, a store is made all the same (best effort)
  const path = process.env.PATH;
  process.env.PATH = dir;
  try {
    await DirStore.open(join(dir, 'bare'));
  } finally {
    process.env.PATH = path;
  }
  assert.ok(!(await execa('lsattr', ['-d', join(dir, 'bare')])).stdout.split(/\s+/)[0]!.includes('T'));
  assert.equal((await DirStore.open(join(dir, 'bare'), { create: false })).writable, true);
});
