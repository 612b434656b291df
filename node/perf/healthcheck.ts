/**
 * The health check zos runs every 15 minutes (zosbase pkg/perf/healthcheck): the node's cache
 * must be writable and at least one instance of each service it depends on must accept a TCP
 * connection. The result maps each check to its errors (empty lists: healthy), in zos' texts.
 */
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { PerfTask } from './monitor.ts';

const DIAL_TIMEOUT_MS = 10_000;

/** host:port as zos dials it: the URL's port, else 443 for https/wss and 80 for anything else. */
export function dialAddress(serviceUrl: string): { host: string; port: number } {
  const u = new URL(serviceUrl);
  if (!u.hostname) throw new Error('missing hostname in URL');
  const port = u.port ? Number(u.port) : u.protocol === 'https:' || u.protocol === 'wss:' ? 443 : 80;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

/** Go's net.Dial error text for the common failures. */
function dialError(host: string, port: number, err: NodeJS.ErrnoException): string {
  const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const reason: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
    ENOTFOUND: `lookup ${host}: no such host`,
  };
  return `dial tcp ${addr}: ${reason[err.code ?? ''] ?? err.message}`;
}

function reachable(serviceUrl: string, signal: AbortSignal): Promise<void> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = dialAddress(serviceUrl));
  } catch (err) {
    return Promise.reject(new Error(`invalid URL ${serviceUrl}: ${(err as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, timeout: DIAL_TIMEOUT_MS, signal });
    const fail = (err: NodeJS.ErrnoException) => {
      sock.destroy();
      reject(new Error(`${serviceUrl} is not reachable: failed to connect: ${dialError(host, port, err)}`));
    };
    sock.once('connect', () => {
      sock.destroy();
      resolve();
    });
    sock.once('timeout', () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    sock.once('error', fail);
  });
}

async function atLeastOne(service: string, instances: readonly string[], signal: AbortSignal): Promise<string | null> {
  if (instances.length === 0) return `no instances provided for service ${service}`;
  const errors: string[] = [];
  for (const url of instances) {
    try {
      await reachable(url, signal);
      return null;
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return `all ${service} instances are unreachable: ${errors.join('; ')}`;
}

/** Node's "ENOTDIR: not a directory, open '/p'" as Go prints it: "open /p: not a directory". */
function goFsError(err: Error): string {
  const m = /^[A-Z]+: (.*?), (\w+) '(.*)'$/.exec(err.message);
  return m ? `${m[2]} ${m[3]}: ${m[1]}` : err.message;
}

export interface HealthcheckOptions {
  /** The node's writable state (zos: /var/cache). */
  cacheDir: string;
  /** Services the node depends on, by zos' names (substrate, relay, activation, …). */
  services: Record<string, readonly string[]>;
}

export function healthcheckTask(o: HealthcheckOptions): PerfTask {
  return {
    id: 'healthcheck',
    description: "checks that the node's cache is writable and that the services it depends on (chain, relay, …) are reachable",
    everyMs: 15 * 60_000,
    async run(signal) {
      const cache: string[] = [];
      const probe = join(o.cacheDir, 'healthcheck');
      try {
        await writeFile(probe, '');
        await rm(probe, { force: true });
      } catch (err) {
        cache.push(`failed to write to cache: ${goFsError(err as Error)}`);
      }
      const checks = await Promise.all(Object.entries(o.services).map(([name, urls]) => atLeastOne(name, urls, signal)));
      return { cache, network: checks.filter((e): e is string => e !== null) };
    },
  };
}

/** Healthy when the stored result lists no error for any check (zos diagnostics' `healthy`). */
export function isHealthy(result: unknown): boolean {
  if (!result || typeof result !== 'object') return false;
  return Object.values(result as Record<string, unknown>).every((v) => Array.isArray(v) && v.length === 0);
}

