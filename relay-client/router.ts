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

export const FUNCTION_NOT_FOUND = 'function is not found';

/** A handler's answer already encoded as JSON: sent as is (a handler that keeps answers encoded). */
export class JsonBytes {
  constructor(readonly bytes: Uint8Array) {}
}

export type DispatchResult = { ok: true; json: Uint8Array } | { ok: false; code: number; message: string };

export class Router {
  private readonly handlers = new Map<string, Handler>();

  handle(command: string, handler: Handler): void {
    if (this.handlers.has(command)) throw new Error(`handler for ${command} already registered`);
    this.handlers.set(command, handler);
  }

  async dispatch(payload: Uint8Array, ctx: RequestContext): Promise<DispatchResult> {
    const handler = this.handlers.get(ctx.command);
    if (!handler) return { ok: false, code: 0, message: FUNCTION_NOT_FOUND };
    let input: unknown = null;
    if (payload.length > 0) {
      try {
        input = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
      } catch {
        return { ok: false, code: 0, message: 'invalid json payload' };
      }
    }
    try {
      const out = await handler(input, ctx);
      return { ok: true, json: out instanceof JsonBytes ? out.bytes : new TextEncoder().encode(JSON.stringify(out ?? null)) };
    } catch (err) {
      return { ok: false, code: 0, message: err instanceof Error ? err.message : String(err) };
    }
  }
}
