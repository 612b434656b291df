import WebSocket from 'ws';
import { ChainError, ChainErrorCode } from './errors.ts';

/**
 * JSON-RPC 2.0 over one WebSocket, as substrate nodes speak it: requests, and subscriptions
 * whose notifications carry `params.subscription`. Every failure reaches a caller: a dropped
 * socket rejects each pending request with ERR_DISCONNECTED and ends each subscription through
 * its `onEnd`; nothing is left to reject where nobody listens.
 */

/** An error answer of the node: `code: message[: data]`, as polkadot-js words it (errors.ts matches on it). */
export class RpcError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`${rpcCode}: ${message}${data === undefined || data === null ? '' : `: ${typeof data === 'string' ? data : JSON.stringify(data)}`}`);
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Subscriber {
  onValue: (v: unknown) => void;
  onEnd: (err: Error) => void;
}

export class RpcConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Map<string, Subscriber>();
  /** Notifications that arrived before their subscription's answer. */
  private readonly early = new Map<string, unknown[]>();
  private failure: Error | null = null;
  private readonly closeHandlers = new Set<(err: Error) => void>();

  private constructor(
    private readonly ws: WebSocket,
    readonly url: string,
  ) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => this.fail(new ChainError(ChainErrorCode.disconnected, `connection to ${url} lost`)));
    ws.on('error', (err) => this.fail(new ChainError(ChainErrorCode.disconnected, `connection to ${url} failed: ${err.message}`, { cause: err })));
  }

  /** Opens the socket; rejects with ERR_DISCONNECTED or ERR_TIMEOUT. */
  static open(url: string, timeoutMs: number, signal?: AbortSignal): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
      const timer = setTimeout(() => done(new ChainError(ChainErrorCode.timeout, `connect to ${url} timed out`)), timeoutMs);
      const onAbort = () => done(signal?.reason instanceof Error ? signal.reason : new ChainError(ChainErrorCode.closed, 'connect aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err: Error | null) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.off('close', onClose);
        if (!err) return resolve(new RpcConnection(ws, url));
        ws.on('error', () => {}); // a late error of the abandoned socket has no one to tell
        ws.terminate();
        reject(err);
      };
      const onOpen = () => done(null);
      const onError = (e: Error) => done(new ChainError(ChainErrorCode.disconnected, `cannot connect to ${url}: ${e.message}`, { cause: e }));
      const onClose = () => done(new ChainError(ChainErrorCode.disconnected, `${url} closed the connection`));
      ws.once('open', onOpen);
      ws.once('error', onError);
      ws.once('close', onClose);
      if (signal?.aborted) onAbort();
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Called once, with the reason, when the socket is gone (dropped or closed). */
  onClose(handler: (err: Error) => void): () => void {
    if (this.failure) {
      handler(this.failure);
      return () => {};
    }
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  request<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }), (err) => {
        if (err) this.settle(id, new ChainError(ChainErrorCode.disconnected, `${method}: send failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /**
   * Subscribes; resolves to the unsubscribe function once the node accepted. `onEnd` is called
   * once if the connection drops while subscribed (not after unsubscribing).
   */
  async subscribe(method: string, params: unknown[], unsubscribe: string, onValue: (v: unknown) => void, onEnd: (err: Error) => void): Promise<() => void> {
    const id = String(await this.request<string | number>(method, params));
    const sub: Subscriber = { onValue, onEnd };
    this.subs.set(id, sub);
    for (const v of this.early.get(id) ?? []) onValue(v);
    this.early.delete(id);
    return () => {
      if (this.subs.get(id) !== sub) return;
      this.subs.delete(id);
      // Unsubscribing a dropped connection has nothing to release.
      if (!this.failure) this.request(unsubscribe, [id]).catch(() => {});
    };
  }

  /** Closes the socket; pending calls fail with `reason`. */
  close(reason: Error = new ChainError(ChainErrorCode.closed, 'chain client closed')): void {
    this.fail(reason);
  }

  private onMessage(text: string): void {
    let msg: { id?: number; result?: unknown; error?: { code: number; message: string; data?: unknown }; method?: string; params?: { subscription: string | number; result?: unknown; error?: unknown } };
    try {
      msg = JSON.parse(text);
    } catch {
      return; // not JSON: nothing in it can be answered
    }
    if (typeof msg.id === 'number') {
      if (msg.error) this.settle(msg.id, new RpcError(msg.error.code, msg.error.message, msg.error.data));
      else this.settle(msg.id, null, msg.result);
      return;
    }
    if (msg.params && msg.params.subscription !== undefined) {
      const id = String(msg.params.subscription);
      const value = msg.params.result;
      const sub = this.subs.get(id);
      if (sub) sub.onValue(value);
      else if (this.early.size < 64) this.early.set(id, [...(this.early.get(id) ?? []), value]);
    }
  }

  private settle(id: number, err: Error | null, value?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const [id] of this.pending) this.settle(id, err);
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const s of subs) s.onEnd(err);
    for (const h of this.closeHandlers) h(err);
    this.closeHandlers.clear();
    this.ws.on('error', () => {});
    this.ws.terminate();
  }
}
