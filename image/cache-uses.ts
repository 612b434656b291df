import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile, errnoCode } from './fsutil.ts';
import { isDigestHex } from './hash.ts';
import { ImageError } from './errors.ts';

/**
 * Which images the node's workloads use (SPEC.md §7): `<cache>/uses/<user>` holds the digest of the
 * image whose tree `user` (a VM's workload id) runs on. The cache's gc keeps exactly the trees
 * named here (image/cache-gc.ts `keep`). Written without fsync: a record a power cut lost belongs
 * to a workload the node still holds, and the node's gc removes no tree while one of its workloads
 * has no record (node/primitives/zmachine/image-gc.ts).
 */
export class CacheUses {
  constructor(readonly dir: string) {}

  private path(user: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(user)) throw new ImageError('BAD_INPUT', `bad image user "${user}": use [A-Za-z0-9._-], up to 128 characters`);
    return join(this.dir, user);
  }

  /** Records that `user` runs on the tree of `digest` (replacing what it used before). */
  set(user: string, digest: string): void {
    if (!isDigestHex(digest)) throw new ImageError('BAD_INPUT', `bad image digest "${digest}"`);
    atomicWriteFile(this.path(user), digest);
  }

  /** Forgets `user`'s record (none: nothing to do). */
  delete(user: string): void {
    rmSync(this.path(user), { force: true });
  }

  /** Every record: user -> digest (unreadable or malformed records are left out). */
  all(): Map<string, string> {
    const out = new Map<string, string>();
    let users: string[];
    try {
      users = readdirSync(this.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return out;
      throw err;
    }
    for (const user of users) {
      if (user.startsWith('.')) continue; // a record being written
      try {
        const digest = readFileSync(join(this.dir, user), 'utf8');
        if (isDigestHex(digest)) out.set(user, digest);
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
}
