import type WebSocket from 'ws';

/** A ws 'message' payload as one Uint8Array view. */
export function wsDataToBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const corked = new WeakSet<object>();

/**
 * Sends one binary frame, writing every frame sent to the same socket in this turn of the event
 * loop with one system call: the socket is corked at the first and uncorked once the turn's
 * callbacks are done (setImmediate). Under load a peer or the relay sends many frames per turn,
 * and a write per frame was about a fifth of their CPU; a lone frame waits no longer than the
 * current turn. The socket is ws' own (`_socket`, not in its types).
 */
export function sendFrame(ws: WebSocket, bytes: Uint8Array, cb: (err?: Error) => void): void {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } | null })._socket;
  if (socket && !corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    setImmediate(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  ws.send(bytes, { binary: true }, cb);
}
