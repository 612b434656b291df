import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readPid, terminate } from '../vm/procs.ts';
import { proxyRunDir } from './privileges.ts';

/** The haproxy config's file name in its run dir (and, for one an older node started, in the state dir). */
export const CONFIG = 'haproxy.cfg';

/** One command on haproxy's admin socket; its whole answer. */
export function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    s.setTimeout(3000, () => s.destroy(new Error('haproxy admin socket timed out')));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.end(`${command}\n`);
  });
}

/** Stops the haproxy a gateway state dir runs (master and workers); none running is fine. */
export async function stopHaproxy(dir: string): Promise<void> {
  const pid = await readPid(join(dir, 'haproxy.pid'));
  await terminate(pid, join(proxyRunDir(dir), CONFIG));
  // One an older node started as root, with its config and socket in dir.
  await terminate(pid, join(dir, CONFIG));
  await rm(join(dir, 'haproxy.pid'), { force: true });
  await rm(proxyRunDir(dir), { recursive: true, force: true });
}
