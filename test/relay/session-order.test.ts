import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type WebSocket from 'ws';
import { Session, type SessionHooks } from '../../relay/session.ts';

/** Just what Session uses of a ws socket: its events, pause/resume and close. */
class FakeWs extends EventEmitter {
  bufferedAmount = 0;
  pause(): void {}
  resume(): void {}
  close(): void {
    this.emit('close');
  }
  terminate(): void {
    this.emit('close');
  }
}

test('relay session: frames routed at once are handled in the same turn; one that returns a promise holds the rest, in order', async () => {
  const ws = new FakeWs();
  const handled: number[] = [];
  let release!: () => void;
  const hooks: SessionHooks = {
    onFrame: (_s, bytes) => {
      handled.push(bytes[0]!);
      if (bytes[0] === 2) return new Promise<void>((r) => (release = r));
    },
    onProtocolError: () => assert.fail('no protocol error'),
    onDrop: () => assert.fail('no drop'),
    onClose: () => {},
  };
  new Session({ twin: 1 }, ws as unknown as WebSocket, hooks);
  const frame = (n: number) => ws.emit('message', Buffer.from([n]), true);
  frame(1);
  assert.deepEqual(handled, [1], 'handled synchronously, not a microtask later');
  frame(2);
  frame(3);
  frame(4);
  assert.deepEqual(handled, [1, 2], 'frame 3 waits for frame 2');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, [1, 2]);
  release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, [1, 2, 3, 4]);
  frame(5);
  assert.deepEqual(handled, [1, 2, 3, 4, 5]);
});
