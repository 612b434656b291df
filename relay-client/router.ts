/**
 * Command table for incoming requests. A handler gets the decoded JSON payload; its return
 * value becomes the JSON response (`null` when undefined) and a thrown error becomes an
 * error envelope {code: 0, message}.
 */
export interface RequestContext {
  twin: number;
  connection?: string;
  uid: string;
  command: string;
}

export type Handler = (payload: unknown, ctx: RequestContext) => unknown;

const readOnlyHandlers = new WeakSet<Handler>();

/**
 * Marks a handler as side-effect free: it only reads, and running it for a request that turns out
 * forged changes nothing. Such a handler may run while the request's signature is still being
 * checked on another thread; its answer is sent only once the check has passed (peer.ts).
 */
export function readOnly(handler: Handler): Handler {
  readOnlyHandlers.add(handler);
  return handler;
}

export const FUNCTION_NOT_FOUND = 'function is not found';

/** A handler's answer already encoded as JSON: sent as is (a handler that keeps answers encoded). */
export class JsonBytes {
  constructor(readonly bytes: Uint8Array) {}
}

export type DispatchResult = { ok: true; json: Uint8Array } | { ok: false; code: number; message: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function answered(out: unknown): DispatchResult {
  return { ok: true, json: out instanceof JsonBytes ? out.bytes : encoder.encode(JSON.stringify(out ?? null)) };
}

function failed(err: unknown): DispatchResult {
  return { ok: false, code: 0, message: err instanceof Error ? err.message : String(err) };
}

export class Router {
  private readonly handlers = new Map<string, Handler>();

  handle(command: string, handler: Handler): void {
    if (this.handlers.has(command)) throw new Error(`handler for ${command} already registered`);
    this.handlers.set(command, handler);
  }

  /** Whether `command`'s handler is marked readOnly (an unknown command's answer is side-effect free too). */
  isReadOnly(command: string): boolean {
    const handler = this.handlers.get(command);
    return handler === undefined || readOnlyHandlers.has(handler);
  }

  /** The answer now when the handler answers synchronously (no microtask turn), else its promise. */
  dispatch(payload: Uint8Array, ctx: RequestContext): DispatchResult | Promise<DispatchResult> {
    const handler = this.handlers.get(ctx.command);
    if (!handler) return { ok: false, code: 0, message: FUNCTION_NOT_FOUND };
    let input: unknown = null;
    if (payload.length > 0) {
      try {
        input = JSON.parse(utf8.decode(payload));
      } catch {
        return { ok: false, code: 0, message: 'invalid json payload' };
      }
    }
    let out: unknown;
    try {
      out = handler(input, ctx);
    } catch (err) {
      return failed(err);
    }
    if (typeof (out as PromiseLike<unknown> | null)?.then === 'function') return Promise.resolve(out).then(answered).catch(failed);
    try {
      return answered(out); // JSON.stringify throws on cycles and BigInts
    } catch (err) {
      return failed(err);
    }
  }
}
