/**
 * What our send path (rmb/ws.ts sendFrame: the turn marking and the write callback) costs a hop
 * beyond a plain ws.send, in the echo that bench/relay.ts' floor counts: one WebSocket echo in
 * this process, frames of an RMB request's size, the server and the client both sending one way
 * or the other. Interleaved rounds of sequential round trips (two hops each): the p50 of each
 * way per round, and the median over rounds of the two ways' difference within a round (the
 * machine is shared: its load moves both ways' figures between rounds, less so within one).
 * No goal: a diagnostic for the p50 ratio.
 * Usage: node --import tsx bench/parts/ws-hop.ts
 */
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { sendFrame } from '../../rmb/ws.ts';

type Way = 'ws.send' | 'sendFrame';
const ROUNDS = 10;
const PER_ROUND = 1_000;
let way: Way = 'ws.send';
const send = (ws: WebSocket, bytes: Buffer) => (way === 'ws.send' ? ws.send(bytes, { binary: true }) : sendFrame(ws, bytes, () => {}));

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (d: Buffer) => send(ws, d)));
await new Promise<void>((r) => wss.once('listening', () => r()));
const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, { perMessageDeflate: false });
await new Promise((r) => ws.once('open', r));
let answered = () => {};
ws.on('message', () => answered());
const frame = Buffer.alloc(364, 7);
const once = () =>
  new Promise<void>((r) => {
    answered = r;
    send(ws, frame);
  });
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

async function p50Us(n: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    t.push(performance.now() - t0);
  }
  return median(t) * 1000;
}

const ways: Way[] = ['ws.send', 'sendFrame'];
const rounds: Record<Way, number[]> = { 'ws.send': [], sendFrame: [] };
for (const w of ways) {
  way = w;
  await p50Us(2 * PER_ROUND);
}
for (let r = 0; r < ROUNDS; r++) {
  for (const w of r % 2 ? ways : [...ways].reverse()) {
    way = w;
    rounds[w].push(await p50Us(PER_ROUND));
  }
}
for (const w of ways) console.log(`${w.padEnd(9)} p50 ${median(rounds[w]).toFixed(1)} µs per round trip (two hops); rounds ${rounds[w].map((x) => x.toFixed(1)).join(' ')}`);
const diffs = rounds.sendFrame.map((x, i) => x - rounds['ws.send'][i]!);
console.log(`sendFrame - ws.send: ${(median(diffs) / 2).toFixed(2)} µs a hop (median of the rounds' differences)`);
ws.terminate();
wss.close();
