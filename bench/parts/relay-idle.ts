/**
 * Part of bench/relay.ts: N authenticated idle sessions on one relay process, its resident
 * memory, and whether every session still answers an app-level ping (reference §5: the relay
 * turns a ping envelope into a pong). The relay runs in a child process (this file with
 * --child) so the figure is the relay's own RSS, not the clients'.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createIdentity } from '../../relay-client/identity.ts';
import { decodeEnvelope, encodeEnvelope } from '../../rmb/envelope.ts';
import { createJwt } from '../../rmb/jwt.ts';
import { MemoryTwinDirectory } from '../../rmb/twins.ts';
import { RelayServer } from '../../relay/server.ts';

const SEED = '0x' + '0c'.repeat(32);

export interface IdleResult {
  sessions: number;
  connected: number;
  pongs: number;
  rssMb: number;
  baseRssMb: number;
}

type FromChild = { url: string } | { rss: number };

function ask(child: ChildProcess, msg: string): Promise<FromChild> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as FromChild));
    child.send(msg);
  });
}

/** One identity signs for every twin: the relay checks each JWT against the twin's account id. */
export async function idleSessions(n: number): Promise<IdleResult> {
  const id = await createIdentity(SEED, 'ed25519');
  const child = fork(fileURLToPath(import.meta.url), ['--child', String(n), Buffer.from(id.accountId).toString('hex')], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
  });
  const sockets: WebSocket[] = [];
  try {
    const { url } = (await new Promise((r) => child.once('message', r))) as { url: string };
    const { rss: base } = (await ask(child, 'rss')) as { rss: number };
    const nowS = Math.floor(Date.now() / 1000);
    let pongs = 0;
    const dial = (twin: number) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`${url}/?${createJwt(id, { twin, nowS })}`, { perMessageDeflate: false });
        ws.once('open', () => {
          sockets.push(ws);
          resolve();
        });
        ws.once('error', () => resolve());
        ws.on('message', (d: Buffer) => {
          if (decodeEnvelope(d).message?.kind === 'pong') pongs++;
        });
      });
    for (let i = 1; i <= n; i += 200) await Promise.all(Array.from({ length: Math.min(200, n - i + 1) }, (_, k) => dial(i + k)));
    const connected = sockets.length;
    const { rss } = (await ask(child, 'rss')) as { rss: number };
    // Every session pings once; the relay answers each with a pong envelope.
    sockets.forEach((ws, k) => {
      const twin = k + 1;
      const ping = encodeEnvelope({
        uid: `p${twin}`, tags: '', timestamp: nowS, expiration: 40, source: { twin }, destination: { twin },
        message: { kind: 'ping' }, signature: new Uint8Array(0), schema: 'application/json', relays: [],
      });
      ws.send(ping, { binary: true });
    });
    const deadline = Date.now() + 30_000;
    while (pongs < connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { sessions: n, connected, pongs, rssMb: rss / 1048576, baseRssMb: base / 1048576 };
  } finally {
    for (const ws of sockets) ws.terminate();
    child.kill('SIGTERM');
  }
}

async function child(n: number, accountHex: string): Promise<void> {
  const accountId = new Uint8Array(Buffer.from(accountHex, 'hex'));
  const twins = new MemoryTwinDirectory(Array.from({ length: n }, (_, i) => ({ id: i + 1, accountId, relay: 'relay.bench', pk: null })));
  // Every client dials from 127.0.0.1: lift the per-address upgrade bound for this measurement.
  const relay = new RelayServer({ twins, domains: ['relay.bench'], limits: { upgradesPerMinute: 1_000_000 } });
  const url = await relay.start();
  process.on('message', () => {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ rss: process.memoryUsage().rss });
  });
  process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
  process.send!({ url });
}

if (process.argv[2] === '--child') await child(Number(process.argv[3]), process.argv[4]!);
