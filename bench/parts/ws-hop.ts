/**
 * What our send and receive paths cost a hop beside a plain ws echo (the one bench/relay.ts' floor
 * counts): WebSocket echoes in this process, frames of an RMB request's size, three ways:
 *  - ws.send: ws on both ends, as the floor's echo;
 *  - sendFrame: rmb/ws.ts sendFrame (the turn marking and the write callback) over ws' own frames;
 *  - taken: rmb/ws.ts takeDataFrames on both ends as well (frames read and written on the socket).
 * Interleaved rounds of sequential round trips (two hops each): the p50 of each way per round,
 * and the median over rounds of each way's difference from ws.send within a round (the machine
 * is shared: its load moves every way's figures between rounds, less so within one).
 * No goal: a diagnostic for the p50 ratio. A warm echo shows only part of what a hop saves inside
 * an RMB round trip, where the crypto between hops leaves the caches cold.
 * Usage: node --import tsx bench/parts/ws-hop.ts
 */
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { sendFrame, takeDataFrames } from '../../rmb/ws.ts';

type Way = 'ws.send' | 'sendFrame' | 'taken';
const WAYS: Way[] = ['ws.send', 'sendFrame', 'taken'];
const ROUNDS = 10;
const PER_ROUND = 1_000;

/** An echo pair sending its way; resolves to one round trip. */
async function echo(way: Way): Promise<{ once: () => Promise<void>; close: () => void }> {
  const send = (ws: WebSocket, bytes: Buffer) => (way === 'ws.send' ? ws.send(bytes, { binary: true }) : sendFrame(ws, bytes, () => {}));
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 1 << 20 });
  wss.on('connection', (ws) => {
    if (way === 'taken') takeDataFrames(ws);
    ws.on('message', (d: Buffer) => send(ws, d));
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, { perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  if (way === 'taken') takeDataFrames(ws);
  let answered = () => {};
  ws.on('message', () => answered());
  const frame = Buffer.alloc(364, 7);
  const once = () =>
    new Promise<void>((r) => {
      answered = r;
      send(ws, frame);
    });
  return { once, close: () => (ws.terminate(), wss.close()) };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

async function p50Us(once: () => Promise<void>, n: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    t.push(performance.now() - t0);
  }
  return median(t) * 1000;
}

const pairs = new Map<Way, Awaited<ReturnType<typeof echo>>>();
for (const w of WAYS) pairs.set(w, await echo(w));
const rounds = new Map<Way, number[]>(WAYS.map((w) => [w, []]));
for (const w of WAYS) await p50Us(pairs.get(w)!.once, 2 * PER_ROUND);
for (let r = 0; r < ROUNDS; r++) {
  for (const w of r % 2 ? WAYS : [...WAYS].reverse()) rounds.get(w)!.push(await p50Us(pairs.get(w)!.once, PER_ROUND));
}
const base = rounds.get('ws.send')!;
for (const w of WAYS) {
  const mine = rounds.get(w)!;
  const perHop = median(mine.map((x, i) => x - base[i]!)) / 2;
  console.log(
    `${w.padEnd(9)} p50 ${median(mine).toFixed(1)} µs per round trip (two hops); ${w === 'ws.send' ? '' : `${perHop >= 0 ? '+' : ''}${perHop.toFixed(2)} µs a hop against ws.send; `}rounds ${mine.map((x) => x.toFixed(1)).join(' ')}`,
  );
}
for (const p of pairs.values()) p.close();
