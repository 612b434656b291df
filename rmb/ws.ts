import type WebSocket from 'ws';

/** A ws 'message' payload as one Uint8Array view. */
export function wsDataToBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Sockets that sent a frame in this turn of the event loop: true once corked for more. */
const sentThisTurn = new WeakMap<object, boolean>();

/**
 * Sends one binary frame. The first frame a socket sends in a turn of the event loop is written
 * at once: a lone frame (a round trip at one in flight) then waits for nothing, where waiting for
 * the end of the turn cost about 10 µs a hop. Further frames to the same socket in the same
 * turn are corked and leave together in one system call once the turn's callbacks are done
 * (setImmediate): under load a peer or the relay sends many frames per turn, and a write per
 * frame was about a fifth of their CPU. The socket is ws' own (`_socket`, not in its types).
 */
export function sendFrame(ws: WebSocket, bytes: Uint8Array, cb: (err?: Error) => void): void {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } | null })._socket;
  if (socket) {
    const corked = sentThisTurn.get(socket);
    if (corked === undefined) {
      sentThisTurn.set(socket, false);
      setImmediate(() => {
        if (sentThisTurn.get(socket)) socket.uncork();
        sentThisTurn.delete(socket);
      });
    } else if (!corked) {
      sentThisTurn.set(socket, true);
      socket.cork();
    }
  }
  ws.send(bytes, { binary: true }, cb);
}
