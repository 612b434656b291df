import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { sendFrame } from '../../rmb/ws.ts';

/**
 * rmb/ws sendFrame: the first frame sent to a socket in a turn of the event loop is written at
 * once; the others of that turn leave together in one system call (one writev) at its end. All
 * arrive whole and in order, and each one's callback runs; a frame sent in a later turn goes out
 * on its own, at once. Frames from several callbacks close together (a burst) are batched too.
 */
test('sendFrame: the first frame of a turn goes out at once, the rest of the turn in one write, in order, each acknowledged', { timeout: 20_000 }, async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const got: Buffer[] = [];
  let gotAll: () => void;
  const all = new Promise<void>((r) => (gotAll = r));
  wss.on('connection', (ws) => ws.on('message', (d: Buffer) => {
    got.push(d);
    if (got.length === 41) gotAll();
  }));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  t.after(() => {
    ws.terminate();
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  await new Promise((r) => ws.once('open', r));

  const socket = (ws as unknown as { _socket: { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } })._socket;
  const calls = { write: 0, writev: 0 };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (...a) => (calls.write++, write(...a));
  socket._writev = (...a) => (calls.writev++, writev(...a));

  const acks: number[] = [];
  sendFrame(ws, Buffer.from('frame 0'), (err) => (assert.ifError(err), acks.push(0)));
  const first = calls.write + calls.writev;
  assert.equal(first, 1, 'a lone frame is written at once');
  for (let i = 1; i < 20; i++) sendFrame(ws, Buffer.from(`frame ${i}`), (err) => (assert.ifError(err), acks.push(i)));
  assert.equal(calls.write + calls.writev, 1, 'the rest wait for the end of the turn');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.write + calls.writev, 2, 'nineteen more frames, one system call');
  await new Promise((r) => setTimeout(r, 20));
  sendFrame(ws, Buffer.from('later'), (err) => assert.ifError(err));
  assert.equal(calls.write + calls.writev, 3, 'a frame of a later turn goes out at once');
  await new Promise((r) => setTimeout(r, 20));
  // Twenty callbacks of one loop iteration, one frame each: the first goes out at once and ends
  // its turn with its callback; the next begins a burst (within 0.1 ms of that write), so what
  // follows waits for the iteration's end: three writes as a rule (a gap of over 0.1 ms between
  // two callbacks, a process preempted there, makes one more lone frame), where a write a frame made twenty.
  const before = calls.write + calls.writev;
  const burst = Array.from({ length: 20 }, (_, i) => new Promise<void>((r) => setImmediate(() => {
    sendFrame(ws, Buffer.from(`burst ${i}`), (err) => assert.ifError(err));
    r();
  })));
  await Promise.all(burst);
  await new Promise((r) => setImmediate(r));
  const burstWrites = calls.write + calls.writev - before;
  assert.ok(burstWrites >= 2 && burstWrites <= 8, `twenty frames of a burst in ${burstWrites} writes`);
  await all;
  assert.deepEqual(got.map((b) => b.toString()), [
    ...Array.from({ length: 20 }, (_, i) => `frame ${i}`), 'later', ...Array.from({ length: 20 }, (_, i) => `burst ${i}`),
  ]);
  assert.deepEqual(acks, Array.from({ length: 20 }, (_, i) => i));
});
