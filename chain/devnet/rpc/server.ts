import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../../lib/log.ts';
import { closeSession, type Dispatcher, type Session } from './dispatcher.ts';

export const MAX_PAYLOAD = 16 * 1024 * 1024;
/** A client that lets this much pile up unsent is dropped rather than buffered without bound. */
const MAX_BUFFERED = 64 * 1024 * 1024;

/** Extra HTTP routes (POST path -> handler of the parsed JSON body). */
export type HttpRoute = (body: unknown) => { status: number; body: unknown };

export interface RpcServerOptions {
  host: string;
  port: number;
  dispatcher: Dispatcher;
  logger: Logger;
  routes?: Record<string, HttpRoute>;
  maxPayload?: number;
  /** Origins allowed besides localhost ones (substrate's --rpc-cors); 'all' turns the check off. */
  allowedOrigins?: string[] | 'all';
}

/**
 * Browsers send `Origin`; a web page on another site must not drive the chain through the
 * visitor's browser (substrate checks --rpc-cors the same way). Clients without the header
 * (polkadot-js in Node, curl) are not browsers and pass.
 */
export function originAllowed(origin: string | undefined, allowed: string[] | 'all' = []): boolean {
  if (origin === undefined || allowed === 'all') return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return true;
  return allowed.some((a) => a.replace(/\/+$/, '') === url.origin);
}

/**
 * JSON-RPC over WebSocket and HTTP POST on one port (like substrate's RPC
 * server), plus a few plain HTTP routes (faucet, /health).
 */
export class RpcServer {
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly sessions = new Set<Session>();
  private closed = false;

  constructor(private readonly opts: RpcServerOptions) {}

  async start(): Promise<AddressInfo> {
    if (this.closed) throw new Error('rpc server is closed');
    const http = createServer((req, res) => this.onHttp(req, res));
    const wss = new WebSocketServer({
      server: http,
      maxPayload: this.opts.maxPayload ?? MAX_PAYLOAD,
      verifyClient: (info, done) => {
        if (originAllowed(info.origin || undefined, this.opts.allowedOrigins)) return done(true);
        this.opts.logger.warn({ origin: info.origin }, 'websocket upgrade from a foreign origin refused');
        done(false, 403, 'origin not allowed');
      },
    });
    wss.on('connection', (ws) => this.onConnection(ws));
    wss.on('error', (err) => this.opts.logger.warn({ err }, 'websocket server error'));
    this.http = http;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.opts.port, this.opts.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    return http.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions) closeSession(s);
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.http?.closeAllConnections();
    await new Promise<void>((resolve) => (this.http?.listening ? this.http.close(() => resolve()) : resolve()));
  }

  private onConnection(ws: WebSocket): void {
    const log = this.opts.logger;
    const session: Session = {
      closed: false,
      subscriptions: new Map(),
      send: (text) => {
        if (session.closed || ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > MAX_BUFFERED) {
          log.warn('dropping a websocket client that does not read its notifications');
          ws.terminate();
          return;
        }
        ws.send(text);
      },
    };
    this.sessions.add(session);
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      try {
        const { reply, after } = this.opts.dispatcher.handleText(text, session);
        if (reply !== null) session.send(reply);
        after();
      } catch (err) {
        log.error({ err }, 'websocket request failed');
        session.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }));
      }
    });
    ws.on('error', (err) => log.debug({ err }, 'websocket client error'));
    ws.on('close', () => {
      closeSession(session);
      this.sessions.delete(session);
    });
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') return this.reply(res, 200, this.rpcResult('system_health'));
    if (!originAllowed(req.headers.origin, this.opts.allowedOrigins)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('origin not allowed');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('Used HTTP Method is not allowed. POST is required');
      return;
    }
    const max = this.opts.maxPayload ?? MAX_PAYLOAD;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max && !refused) {
        refused = true;
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('request body too large');
        req.destroy();
      } else if (!refused) chunks.push(chunk);
    });
    req.on('error', () => {});
    req.on('end', () => {
      if (refused) return;
      const text = Buffer.concat(chunks).toString('utf8');
      const route = this.opts.routes?.[path];
      if (route) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return this.reply(res, 400, { error: 'body is not JSON' });
        }
        try {
          const out = route(body);
          return this.reply(res, out.status, out.body);
        } catch (err) {
          this.opts.logger.error({ err, path }, 'http route failed');
          return this.reply(res, 500, { error: 'internal error' });
        }
      }
      try {
        const { reply } = this.opts.dispatcher.handleText(text, null);
        res.writeHead(200, { 'content-type': 'application/json' }).end(reply ?? '');
      } catch (err) {
        this.opts.logger.error({ err }, 'http request failed');
        this.reply(res, 500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } });
      }
    });
  }

  private rpcResult(method: string): unknown {
    const { reply } = this.opts.dispatcher.handleText(JSON.stringify({ jsonrpc: '2.0', id: 0, method }), null);
    return JSON.parse(reply!).result;
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
