import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * A throwaway PostgreSQL server for a test: initdb and pg_ctl from Debian's `postgresql`
 * package (.ci/debian-packages) in a temp dir, listening only on a unix socket there (no TCP
 * port at all), fsync off. PostgreSQL refuses to run as root, so as root it runs as the
 * package's `postgres` user. `url` connects as superuser `zos` to database `postgres`.
 */
export interface TestPostgres {
  url: string;
  close(): Promise<void>;
}

/** The newest installed server's bin directory, or null. */
async function serverBin(): Promise<string | null> {
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const v = versions.filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(b) - Number(a))[0];
  return v ? `/usr/lib/postgresql/${v}/bin` : null;
}

/** Why no test server can run here (null when one can). */
export async function postgresUnavailable(): Promise<string | null> {
  const bin = await serverBin();
  if (!bin) return 'PostgreSQL is not installed (apt-get install postgresql, see .ci/debian-packages)';
  if (process.getuid?.() === 0 && (await execa('id', ['-u', 'postgres'], { reject: false })).exitCode !== 0) return "running as root needs the 'postgres' user";
  return null;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = await serverBin();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'zos-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await execa('id', ['-u', 'postgres'])).stdout);
    const gid = Number((await execa('id', ['-g', 'postgres'])).stdout);
    await chown(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => (asRoot ? execa('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : execa(join(bin, cmd), args));
  const data = join(dir, 'data');
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
  try {
    await run('initdb', ['-D', data, '-A', 'trust', '-U', 'zos', '--no-sync', '-E', 'UTF8']);
    await run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-k ${dir} -c listen_addresses='' -F`, 'start']);
  } catch (err) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgresql://zos@localhost/postgres?host=${encodeURIComponent(dir)}`,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
