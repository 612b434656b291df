/**
 * Devnet throughput and latency: signed transfers per second (pre-signed batch from several
 * accounts submitted over one WebSocket, timed until every tx is finalized) and the p50/p99 of
 * api.query.system.account, next to a plain JSON-RPC round trip (system_health) measured in the
 * same run. Bounded (well under a minute). The last line holds the ratios (no issue sets goals yet).
 * Run: node --import tsx bench/chain.ts [--txs N]
 */
import { cpus, loadavg } from 'node:os';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { WebSocket } from 'ws';
import { Devnet, DEV_URIS } from '../chain/devnet/index.ts';

const argTxs = process.argv.indexOf('--txs');
const TXS = argTxs > 0 ? Number(process.argv[argTxs + 1]) : 1000;
const QUERIES = 300;

/** Sequential JSON-RPC client over one socket that routes replies and notifications. */
class Socket {
  private id = 0;
  private readonly pending = new Map<number, (v: any) => void>();
  onNotification: (msg: any) => void = () => {};
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg);
      else this.onNotification(msg);
    });
  }
  static async open(url: string): Promise<Socket> {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new Socket(ws);
  }
  call(method: string, params: unknown[] = []): Promise<any> {
    const id = ++this.id;
    return new Promise((resolve) => {
      this.pending.set(id, (m) => {
        this.pending.delete(id);
        resolve(m);
      });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }
  close(): void {
    this.ws.close();
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (v: number) => `${v.toFixed(2)} ms`;

async function latencies(n: number, fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 20; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  out.sort((a, b) => a - b);
  return { p50: percentile(out, 50), p99: percentile(out, 99) };
}

async function main(): Promise<void> {
  await cryptoWaitReady();
  const devnet = new Devnet({ port: 0, finalityDelayMs: 0 });
  const url = await devnet.start();
  const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
  const sock = await Socket.open(url);
  try {
    console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, node ${process.version}`);

    console.log(`load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    // Baselines: a JSON-RPC round trip that touches no chain state, and the raw storage read behind the query.
    const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    const aliceKey = api.query.system.account.key(alice.address);
    const health = await latencies(QUERIES, () => sock.call('system_health'));
    const raw = await latencies(QUERIES, () => sock.call('state_queryStorageAt', [[aliceKey]]));
    const query = await latencies(QUERIES, () => api.query.system.account(alice.address));
    console.log(`system_health round trip (baseline):   p50 ${ms(health.p50)}, p99 ${ms(health.p99)}`);
    console.log(`raw state_queryStorageAt(account):    p50 ${ms(raw.p50)}, p99 ${ms(raw.p99)}`);
    console.log(`api.query.system.account (polkadot):  p50 ${ms(query.p50)}, p99 ${ms(query.p99)}`);

    // Pre-sign TXS transfers spread over the dev accounts (immortal era, consecutive nonces).
    const keyring = new Keyring({ type: 'sr25519' });
    const senders = DEV_URIS.map((u) => keyring.addFromUri(u));
    const dest = keyring.addFromUri('//BenchSink').address;
    const genesisHash = api.genesisHash;
    const signed: string[] = [];
    const signStart = performance.now();
    for (let i = 0; i < TXS; i++) {
      const from = senders[i % senders.length]!;
      const nonce = Math.floor(i / senders.length);
      const tx = api.tx.balances.transferKeepAlive(dest, 1_000_000n + BigInt(i));
      tx.sign(from, { nonce, era: 0, blockHash: genesisHash, genesisHash, runtimeVersion: api.runtimeVersion, signedExtensions: api.registry.signedExtensions } as any);
      signed.push(tx.toHex());
    }
    const signS = (performance.now() - signStart) / 1000;

    let finalized = 0;
    let failed = 0;
    let finish: () => void = () => {};
    const allDone = new Promise<void>((r) => (finish = r));
    sock.onNotification = (msg) => {
      const r = msg.params?.result;
      if (r && typeof r === 'object' && 'finalized' in r) finalized++;
      else if (r === 'invalid' || r === 'dropped') failed++;
      if (finalized + failed === TXS) finish();
    };
    const blocksBefore = devnet.chain.chain.best.number;
    const t0 = performance.now();
    const replies = await Promise.all(signed.map((hex) => sock.call('author_submitAndWatchExtrinsic', [hex])));
    const accepted = replies.filter((r) => r.result !== undefined).length;
    const submitS = (performance.now() - t0) / 1000;
    if (accepted < TXS) failed += TXS - accepted;
    if (finalized + failed < TXS) await Promise.race([allDone, new Promise((r) => setTimeout(r, 45_000))]);
    const totalS = (performance.now() - t0) / 1000;
    const blocks = devnet.chain.chain.best.number - blocksBefore;
    console.log(`signing (client side, not timed below): ${(TXS / signS).toFixed(0)} tx/s`);
    console.log(
      `signed transfers: ${finalized}/${TXS} finalized (${failed} refused) in ${totalS.toFixed(2)} s over ${blocks} blocks = ${(finalized / totalS).toFixed(0)} tx/s (submission alone ${(TXS / submitS).toFixed(0)} tx/s)`,
    );
    const sink = (await api.query.system.account(dest)) as any;
    console.log(`sink balance check: ${sink.data.free.toString()} units received (${u8aToHex(keyring.decodeAddress(dest)).slice(0, 10)}…)`);
    // No issue sets goals for the devnet yet: the ratios are printed for comparison between runs.
    console.log(
      `RESULT chain: query p50 / system_health p50 ${(query.p50 / health.p50).toFixed(2)}x | signed transfers ${(finalized / totalS).toFixed(0)} tx/s (no goal set) | all ${TXS} finalized ${finalized === TXS ? 'PASS' : 'MISS'}`,
    );
  } finally {
    sock.close();
    await api.disconnect();
    await devnet.close();
  }
}

await main();
