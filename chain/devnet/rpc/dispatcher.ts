import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../lib/log.ts';
import { TxPoolError } from '../executive/errors.ts';
import type { MethodTable, RpcBackend, SubscriptionTable } from './methods/types.ts';
import { errResponse, notification, okResponse, RPC_CODES, RpcError, requestSchema, type RpcId } from './protocol.ts';

/** One client connection's subscriptions; HTTP requests have no session. */
export interface Session {
  send(text: string): void;
  readonly subscriptions: Map<string, { unsubscribe: string; teardown: () => void }>;
  closed: boolean;
}

export function closeSession(session: Session): void {
  session.closed = true;
  for (const sub of session.subscriptions.values()) sub.teardown();
  session.subscriptions.clear();
}

interface Handled {
  /** Serialized reply, or null for JSON-RPC notifications (no id). */
  reply: unknown | null;
  /** Runs after the reply is sent (starts delivering subscription notifications). */
  after?: () => void;
}

const MAX_BATCH = 1024;

/** Parses JSON-RPC requests and runs them against the method tables. */
export class Dispatcher {
  private readonly unsubscribes: Set<string>;

  constructor(
    private readonly methods: MethodTable,
    private readonly subscriptions: SubscriptionTable,
    private readonly backend: RpcBackend,
    private readonly log: Logger,
  ) {
    this.unsubscribes = new Set(Object.values(subscriptions).map((s) => s.unsubscribe));
  }

  methodNames(): string[] {
    return ['rpc_methods', ...Object.keys(this.methods), ...Object.keys(this.subscriptions), ...this.unsubscribes].sort();
  }

  /** Handles one text frame / HTTP body; returns the reply text (null: nothing to send) and the post-reply hook. */
  handleText(text: string, session: Session | null): { reply: string | null; after: () => void } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { reply: JSON.stringify(errResponse(null, { code: RPC_CODES.ParseError, message: 'Parse error' })), after: () => {} };
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0 || parsed.length > MAX_BATCH) {
        return { reply: JSON.stringify(errResponse(null, { code: RPC_CODES.InvalidRequest, message: 'Invalid request' })), after: () => {} };
      }
      const results = parsed.map((r) => this.handleOne(r, session));
      const replies = results.map((r) => r.reply).filter((r) => r !== null);
      return { reply: replies.length ? JSON.stringify(replies) : null, after: () => results.forEach((r) => r.after?.()) };
    }
    const one = this.handleOne(parsed, session);
    return { reply: one.reply === null ? null : JSON.stringify(one.reply), after: () => one.after?.() };
  }

  private handleOne(raw: unknown, session: Session | null): Handled {
    const req = requestSchema.safeParse(raw);
    if (!req.success) {
      const id = typeof raw === 'object' && raw !== null && 'id' in raw ? idOf((raw as { id: unknown }).id) : null;
      return { reply: errResponse(id, { code: RPC_CODES.InvalidRequest, message: 'Invalid request' }) };
    }
    const { id, method } = req.data;
    const isNotification = id === undefined;
    const params = req.data.params ?? [];
    const answer = (h: Handled): Handled => (isNotification ? { reply: null, after: h.after } : h);
    try {
      if (!Array.isArray(params)) throw new RpcError(RPC_CODES.InvalidParams, 'Invalid params', 'params must be an array');
      const result = this.run(method, params, session);
      return answer({ reply: okResponse(id ?? null, result.value), after: result.after });
    } catch (err) {
      return answer({ reply: errResponse(id ?? null, this.toError(err, method)) });
    }
  }

  private run(method: string, params: unknown[], session: Session | null): { value: unknown; after?: () => void } {
    const def = this.methods[method];
    if (def) return { value: def.run(parse(def.params, params), this.backend) };
    if (method === 'rpc_methods') return { value: { version: 1, methods: this.methodNames() } };
    const sub = this.subscriptions[method];
    if (sub) {
      if (!session) throw new RpcError(RPC_CODES.MethodNotFound, 'Method not found', 'subscriptions need a WebSocket connection');
      return this.subscribe(method, parse(sub.params, params), session);
    }
    if (this.unsubscribes.has(method)) {
      const subId = params[0];
      if (typeof subId !== 'string' && typeof subId !== 'number') throw new RpcError(RPC_CODES.InvalidParams, 'Invalid params', 'expected a subscription id');
      const entry = session?.subscriptions.get(String(subId));
      if (!session || !entry || entry.unsubscribe !== method) return { value: false };
      session.subscriptions.delete(String(subId));
      entry.teardown();
      return { value: true };
    }
    throw new RpcError(RPC_CODES.MethodNotFound, 'Method not found');
  }

  /** Registers a subscription; notifications are held until the reply with its id has gone out. */
  private subscribe(method: string, params: unknown[], session: Session): { value: string; after: () => void } {
    const def = this.subscriptions[method]!;
    const subId = randomBytes(12).toString('base64url');
    const held: string[] = [];
    let active = false;
    let ended = false;
    const remove = () => {
      const entry = session.subscriptions.get(subId);
      if (!entry) return;
      session.subscriptions.delete(subId);
      entry.teardown();
    };
    const entry = { unsubscribe: def.unsubscribe, teardown: () => {} };
    session.subscriptions.set(subId, entry);
    const sink = (result: unknown) => {
      if (session.closed || !session.subscriptions.has(subId)) return;
      const text = JSON.stringify(notification(def.notification, subId, result));
      if (active) session.send(text);
      else held.push(text);
    };
    const end = () => {
      ended = true;
      if (active) remove();
    };
    try {
      entry.teardown = def.subscribe(params, this.backend, sink, end);
    } catch (err) {
      session.subscriptions.delete(subId);
      throw err;
    }
    return {
      value: subId,
      after: () => {
        active = true;
        for (const text of held.splice(0)) if (!session.closed) session.send(text);
        if (ended) remove();
      },
    };
  }

  private toError(err: unknown, method: string): { code: number; message: string; data?: unknown } {
    if (err instanceof RpcError) return err.toJSON();
    if (err instanceof TxPoolError) return err.toRpc();
    this.log.error({ err, method }, 'rpc method failed');
    return { code: RPC_CODES.InternalError, message: 'Internal error', data: String((err as Error)?.message ?? err) };
  }
}

function parse(schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, params: unknown[]): any[] {
  const r = schema.safeParse(params);
  if (!r.success) {
    const issue = r.error!.issues[0];
    throw new RpcError(RPC_CODES.InvalidParams, 'Invalid params', issue ? `${issue.path.join('.') || 'params'}: ${issue.message}` : 'bad params');
  }
  return r.data as any[];
}

function idOf(v: unknown): RpcId {
  return typeof v === 'string' || typeof v === 'number' ? v : null;
}
