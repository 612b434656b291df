import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { sendFrame, takeDataFrames } from '../../rmb/ws.ts';

/**
 * rmb/ws.ts reads and writes single FIN+binary frames straight on ws' socket and leaves every
 * other frame to ws. These tests speak raw RFC 6455 on one side (frames built here, not by the
 * code under test) against a ws socket taken over on the other, on both the server and the
 * client side: every frame rule (masking, fragmentation, control frames, close, limits, RSV bits,
 * UTF-8) must behave as ws alone does, and the taken frames must arrive byte for byte, in order,
 * however TCP splits them.
 */
const MAX = 1000;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One frame as RFC 6455 §5.2 lays it out. */
function frame(opcode: number, payload: Buffer | string, o: { fin?: boolean; mask?: boolean; rsv?: number; length?: bigint } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = o.length ?? BigInt(data.length);
  const head = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | opcode];
  const m = o.mask ? 0x80 : 0;
  const ext = Buffer.alloc(len < 126n ? 0 : len < 65536n ? 2 : 8);
  if (len < 126n) head.push(m | Number(len));
  else if (len < 65536n) (head.push(m | 126), ext.writeUInt16BE(Number(len)));
  else (head.push(m | 127), ext.writeBigUInt64BE(len));
  if (!o.mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  return Buffer.concat([Buffer.from(head), ext, key, Buffer.from(data.map((b, i) => b ^ key[i & 3]!))]);
}

interface Parsed {
  fin: boolean;
  opcode: number;
  key: Buffer | null;
  payload: Buffer;
}

/** Reads raw frames off a socket (the peer of the side under test). */
class RawEnd {
  readonly frames: Parsed[] = [];
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;
  constructor(readonly socket: Socket, head: Buffer) {
    socket.on('data', (c: Buffer) => this.take(c));
    socket.on('close', () => ((this.ended = true), this.wake()));
    if (head.length) this.take(head);
  }
  private take(c: Buffer): void {
    this.buf = Buffer.concat([this.buf, c]);
    for (;;) {
      if (this.buf.length < 2) break;
      const masked = (this.buf[1]! & 0x80) !== 0;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) (len = this.buf.length >= 4 ? this.buf.readUInt16BE(2) : -1), (at = 4);
      else if (len === 127) (len = this.buf.length >= 10 ? Number(this.buf.readBigUInt64BE(2)) : -1), (at = 10);
      const start = at + (masked ? 4 : 0);
      if (len < 0 || this.buf.length < start + len) break;
      const key = masked ? Buffer.from(this.buf.subarray(at, at + 4)) : null;
      const payload = Buffer.from(this.buf.subarray(start, start + len));
      if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
      this.frames.push({ fin: (this.buf[0]! & 0x80) !== 0, opcode: this.buf[0]! & 0x0f, key, payload });
      this.buf = this.buf.subarray(start + len);
    }
    this.wake();
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async until(ok: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => (this.waiters.push(r), setTimeout(r, 50)));
    }
  }
  /** The close code of the first close frame the other side sent. */
  async closeCode(): Promise<number> {
    await this.until(() => this.frames.some((f) => f.opcode === 8) || this.ended, 'a close frame');
    const c = this.frames.find((f) => f.opcode === 8);
    return c ? c.payload.readUInt16BE(0) : -1;
  }
}

/** What the side under test received. */
interface Seen {
  ws: WebSocket;
  messages: { binary: boolean; data: Buffer }[];
  taken: boolean;
}

/** Ends the server's connections first: its close waits for them. */
function closeServer(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  return new Promise((r) => wss.close(() => r()));
}

/** A ws server taking its socket over, and a raw client speaking to it. */
async function serverSide(t: TestContext): Promise<{ seen: Seen; raw: RawEnd }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: MAX });
  t.after(() => closeServer(wss));
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const seen = new Promise<Seen>((resolve) =>
    wss.once('connection', (ws) => {
      const s: Seen = { ws, messages: [], taken: takeDataFrames(ws) };
      ws.on('message', (data: Buffer, binary) => s.messages.push({ binary, data: Buffer.from(data) }));
      ws.on('error', () => {});
      resolve(s);
    }),
  );
  const socket = connect((wss.address() as { port: number }).port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.setNoDelay(true);
  socket.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  const head = await new Promise<Buffer>((resolve) => {
    let got = Buffer.alloc(0);
    const on = (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', on);
      assert.match(got.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
      resolve(got.subarray(end + 4));
    };
    socket.on('data', on);
  });
  return { seen: await seen, raw: new RawEnd(socket, head) };
}

/** A raw server that accepts one upgrade, and a ws client taking its socket over. */
async function clientSide(t: TestContext): Promise<{ seen: Seen; raw: RawEnd }> {
  const server = createServer();
  t.after(() => (server.emit('drop-all'), new Promise((r) => server.close(r))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const raw = new Promise<RawEnd>((resolve) =>
    server.once('connection', (socket) => {
      server.once('drop-all', () => socket.destroy());
      socket.setNoDelay(true);
      let got = '';
      const on = (c: Buffer) => {
        got += c.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        socket.off('data', on);
        const key = /sec-websocket-key: (\S+)/i.exec(got)![1]!;
        const accept = createHash('sha1').update(key + GUID).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        resolve(new RawEnd(socket, Buffer.alloc(0)));
      };
      socket.on('data', on);
    }),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`, { perMessageDeflate: false, maxPayload: MAX });
  t.after(() => ws.terminate());
  ws.on('error', () => {});
  await new Promise((r) => ws.once('open', r));
  const seen: Seen = { ws, messages: [], taken: takeDataFrames(ws) };
  ws.on('message', (data: Buffer, binary) => seen.messages.push({ binary, data: Buffer.from(data) }));
  return { seen, raw: await raw };
}

const sides = [
  { name: 'server', open: serverSide, masked: true },
  { name: 'client', open: clientSide, masked: false },
];
const waitMessages = (raw: RawEnd, seen: Seen, n: number) => raw.until(() => seen.messages.length >= n, `${n} messages`);
const bodies = [0, 1, 23, 24, 31, 32, 125, 126, 127, 999, MAX].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff)));

for (const side of sides) {
  test(`ws fast frames (${side.name}): every length form arrives byte for byte, in one chunk and split byte by byte`, async (t) => {
    const { seen, raw } = await side.open(t);
    assert.equal(seen.taken, true);
    raw.socket.write(Buffer.concat(bodies.map((b) => frame(2, b, { mask: side.masked }))));
    await waitMessages(raw, seen, bodies.length);
    const split = Buffer.concat(bodies.map((b) => frame(2, b, { mask: side.masked })));
    for (const byte of split) {
      raw.socket.write(Buffer.from([byte]));
      if (Math.random() < 0.05) await new Promise((r) => setImmediate(r));
    }
    await waitMessages(raw, seen, 2 * bodies.length);
    assert.deepEqual(seen.messages, [...bodies, ...bodies].map((data) => ({ binary: true, data })));
  });

  test(`ws fast frames (${side.name}): fragments, pings, text and taken frames in one chunk keep their order`, async (t) => {
    const { seen, raw } = await side.open(t);
    const m = side.masked;
    raw.socket.write(
      Buffer.concat([
        frame(2, 'one', { mask: m }),
        frame(9, 'p1', { mask: m }),
        frame(2, 'two', { mask: m }),
        frame(2, 'ab', { fin: false, mask: m }),
        frame(9, 'p2', { mask: m }),
        frame(0, 'cd', { mask: m }),
        frame(2, 'three', { mask: m }),
        frame(1, 'text', { mask: m }),
        frame(2, 'four', { mask: m }),
      ]),
    );
    await waitMessages(raw, seen, 6);
    assert.deepEqual(
      seen.messages.map((x) => [x.binary, x.data.toString()]),
      [[true, 'one'], [true, 'two'], [true, 'abcd'], [true, 'three'], [false, 'text'], [true, 'four']],
    );
    await raw.until(() => raw.frames.filter((f) => f.opcode === 10).length === 2, 'two pongs');
    assert.deepEqual(raw.frames.filter((f) => f.opcode === 10).map((f) => f.payload.toString()), ['p1', 'p2']);
    // Taken frames go on after ws handled the others.
    raw.socket.write(frame(2, 'five', { mask: m }));
    await waitMessages(raw, seen, 7);
    assert.equal(seen.messages[6]!.data.toString(), 'five');
  });

  const refusals = [
    { why: 'masked the wrong way', bytes: (m: boolean) => frame(2, 'x', { mask: !m }), code: 1002 },
    { why: 'RSV1 set', bytes: (m: boolean) => frame(2, 'x', { mask: m, rsv: 0x40 }), code: 1002 },
    { why: 'an unknown opcode', bytes: (m: boolean) => frame(3, 'x', { mask: m }), code: 1002 },
    { why: 'a continuation with no message', bytes: (m: boolean) => frame(0, 'x', { mask: m }), code: 1002 },
    { why: 'over maxPayload', bytes: (m: boolean) => frame(2, Buffer.alloc(MAX + 1), { mask: m }), code: 1009 },
    { why: 'a 64-bit length', bytes: (m: boolean) => frame(2, Buffer.alloc(0), { mask: m, length: 1n << 40n }), code: 1009 },
    { why: 'text that is not UTF-8', bytes: (m: boolean) => frame(1, Buffer.from([0xc3, 0x28]), { mask: m }), code: 1007 },
  ];
  for (const r of refusals) {
    test(`ws fast frames (${side.name}): a frame ${r.why} closes with ${r.code}, nothing after it is delivered`, async (t) => {
      const { seen, raw } = await side.open(t);
      raw.socket.write(Buffer.concat([frame(2, 'before', { mask: side.masked }), r.bytes(side.masked), frame(2, 'after', { mask: side.masked })]));
      assert.equal(await raw.closeCode(), r.code);
      assert.deepEqual(seen.messages.map((x) => x.data.toString()), ['before']);
    });
  }

  test(`ws fast frames (${side.name}): a close frame is answered and frames behind it are not delivered`, async (t) => {
    const { seen, raw } = await side.open(t);
    const closed = new Promise<number>((r) => seen.ws.once('close', r));
    const body = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')]);
    raw.socket.write(Buffer.concat([frame(2, 'before', { mask: side.masked }), frame(8, body, { mask: side.masked }), frame(2, 'after', { mask: side.masked })]));
    assert.equal(await raw.closeCode(), 4000);
    raw.socket.end();
    assert.equal(await closed, 4000);
    assert.deepEqual(seen.messages.map((x) => x.data.toString()), ['before']);
  });

  test(`ws fast frames (${side.name}): chunks are read straight off the socket's handle; while ws is paused they wait, in order`, async (t) => {
    const { seen, raw } = await side.open(t);
    const handle = (seen.ws as unknown as { _socket: { _handle: { onread: { name: string } } } })._socket._handle;
    assert.equal(handle.onread.name, 'readTaken', "Node's read callback replaced (rmb/ws.ts readDirect)");
    const m = side.masked;
    raw.socket.write(frame(2, 'one', { mask: m }));
    await waitMessages(raw, seen, 1);
    seen.ws.pause();
    raw.socket.write(frame(2, 'two', { mask: m }));
    await new Promise((r) => setTimeout(r, 50));
    raw.socket.write(frame(2, 'three', { mask: m }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.messages.length, 1, 'nothing delivered while paused');
    seen.ws.resume();
    await waitMessages(raw, seen, 3);
    raw.socket.write(frame(2, 'four', { mask: m }));
    await waitMessages(raw, seen, 4);
    assert.deepEqual(seen.messages.map((x) => x.data.toString()), ['one', 'two', 'three', 'four']);
  });

  test(`ws fast frames (${side.name}): sendFrame writes single FIN+binary frames, masked with fresh keys only by a client`, async (t) => {
    const { seen, raw } = await side.open(t);
    const sizes = [0, 5, 125, 126, 65535, 65536, 200_000];
    const acks: number[] = [];
    for (const n of sizes) sendFrame(seen.ws, Buffer.alloc(n, n & 0xff), (err) => (assert.ifError(err), acks.push(n)));
    await raw.until(() => raw.frames.length >= sizes.length, `${sizes.length} frames`);
    assert.deepEqual(raw.frames.map((f) => [f.fin, f.opcode, f.payload.length]), sizes.map((n) => [true, 2, n]));
    for (const [i, f] of raw.frames.entries()) assert.ok(f.payload.equals(Buffer.alloc(sizes[i]!, sizes[i]! & 0xff)));
    const keys = raw.frames.map((f) => f.key?.toString('hex') ?? null);
    if (side.masked) assert.deepEqual(keys, sizes.map(() => null));
    else assert.equal(new Set(keys).size, sizes.length, 'each client frame has its own mask key');
    await raw.until(() => acks.length === sizes.length, 'every write acknowledged');
    assert.deepEqual(acks, sizes);
  });
}

test('ws fast frames: a socket with an extension on, or already taken, is left to ws', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
  t.after(() => closeServer(wss));
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const server = new Promise<WebSocket>((r) => wss.once('connection', r));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  t.after(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  assert.equal(takeDataFrames(ws), false, 'permessage-deflate negotiated');
  (await server).terminate();
  const { seen } = await serverSide(t);
  assert.equal(seen.taken, true);
  assert.equal(takeDataFrames(seen.ws), false);
});
