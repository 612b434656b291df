import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/log.ts';
import type { Sql } from './store/sql.ts';
import { createGraphqlHandler } from './graphql/handler.ts';
import type { Kyc } from './kyc.ts';
import { getContract, listContracts, listTwins } from './rest/contracts.ts';
import { listFarms } from './rest/farms.ts';
import { getNode, listNodes, type Page } from './rest/nodes.ts';
import { BadRequest, HttpError } from './rest/params.ts';
import { stats } from './rest/stats.ts';

/** What the server needs from the node-facing side: a live RMB call to a node twin. */
export interface NodeCaller {
  call<T>(twinId: number, command: string, payload?: unknown): Promise<T>;
}

export interface IndexerServerOptions {
  sql: Sql;
  host: string;
  port: number;
  version: string;
  kyc: Kyc;
  rmb?: NodeCaller | null;
  tls?: { cert: string | Buffer; key: string | Buffer };
  log: Logger;
  now?: () => number;
}

type Reply = { status?: number; body: unknown; headers?: Record<string, string> };
type Handler = (m: RegExpExecArray, q: URLSearchParams) => Promise<Reply>;

const paged = (p: Page<unknown>, size: number): Reply => ({
  body: p.items,
  headers:
    p.count === null ? undefined : { count: String(p.count), size: String(size), pages: String(Math.ceil(p.count / Math.max(size, 1))) },
});

function pathId(raw: string, what: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new BadRequest(`invalid ${what}: ${JSON.stringify(raw)}`);
  return n;
}

/**
 * The indexer's HTTP face on one port: the gridproxy REST API (GET, JSON, CORS *), the
 * GraphQL endpoint at /graphql and the KYC status service. Errors are `{"error": msg}` with
 * 400 for bad input (naming the field), 404 for unknown ids, 500 otherwise; nothing a client
 * sends can crash it.
 */
export class IndexerServer {
  private server: Server | null = null;
  private readonly now: () => number;

  constructor(private readonly o: IndexerServerOptions) {
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
  }

  private routes(): Array<[RegExp, Handler]> {
    const { sql } = this.o;
    const size = (q: URLSearchParams) => Number(q.get('size') || 50);
    const node = async (id: number) => {
      const n = await getNode(sql, id, this.now());
      if (!n) throw new HttpError(404, 'node not found');
      return n;
    };
    return [
      [/^\/$/, async () => ({ body: 'Welcome to the zos indexer (gridproxy API), endpoints: /version /nodes /farms /twins /contracts /stats /gateways /graphql' })],
      [/^\/ping$/, async () => ({ body: { ping: 'pong' } })],
      [/^\/version$/, async () => ({ body: { version: this.o.version } })],
      [/^\/nodes$/, async (_m, q) => paged(await listNodes(sql, q, this.now()), size(q))],
      [/^\/gateways$/, async (_m, q) => paged(await listNodes(sql, q, this.now(), true), size(q))],
      [/^\/nodes\/([^/]+)$/, async (m) => ({ body: await node(pathId(m[1]!, 'node id')) })],
      [/^\/nodes\/([^/]+)\/status$/, async (m) => ({ body: { status: (await node(pathId(m[1]!, 'node id'))).status } })],
      [
        /^\/gateways\/([^/]+)$/,
        async (m) => {
          const n = await getNode(sql, pathId(m[1]!, 'node id'), this.now());
          if (!n || (n.publicConfig as { domain: string }).domain === '') throw new HttpError(404, 'gateway not found');
          return { body: n };
        },
      ],
      [/^\/nodes\/([^/]+)\/statistics$/, async (m) => ({ body: await this.statistics(await node(pathId(m[1]!, 'node id'))) })],
      [/^\/farms$/, async (_m, q) => paged(await listFarms(sql, q, this.now()), size(q))],
      [/^\/twins$/, async (_m, q) => paged(await listTwins(sql, q), size(q))],
      [/^\/contracts$/, async (_m, q) => paged(await listContracts(sql, q), size(q))],
      [
        /^\/contracts\/([^/]+)$/,
        async (m) => {
          const c = await getContract(sql, pathId(m[1]!, 'contract id'));
          if (!c) throw new HttpError(404, 'contract not found');
          return { body: c };
        },
      ],
      [/^\/stats$/, async (_m, q) => ({ body: await stats(sql, q, this.now()) })],
      [/^\/api\/v1\/status$/, async (_m, q) => this.o.kyc.status(q)],
      [/^\/api\/v1\/health$/, async () => ({ body: { result: { status: 'Healthy' } } })],
    ];
  }

  /** Live, like gridproxy: the node must be up, then `zos.statistics.get` over RMB. */
  private async statistics(node: Record<string, unknown>): Promise<unknown> {
    if (node.status !== 'up') throw new HttpError(500, `cannot fetch statistics from node ${String(node.nodeId)} with status: ${String(node.status)}`);
    if (!this.o.rmb) throw new HttpError(502, 'this indexer has no relay connection (start it with --relay and --mnemonic)');
    try {
      return await this.o.rmb.call(Number(node.twinId), 'zos.statistics.get');
    } catch (err) {
      throw new HttpError(502, `failed to get node statistics from relay: ${(err as Error).message}`);
    }
  }

  async start(): Promise<string> {
    const routes = this.routes();
    const graphql = createGraphqlHandler(this.o.sql, this.o.log.child({ c: 'graphql' }));
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://indexer');
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', 'count, size, pages');
      if (url.pathname === '/graphql' || url.pathname === '/graphql/') {
        graphql(req, res);
        return;
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': '*' }).end();
        return;
      }
      void this.dispatch(routes, req, url).then(({ status = 200, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      });
    };
    const server = this.o.tls ? createHttps({ cert: this.o.tls.cert, key: this.o.tls.key }, handle) : createHttp(handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `${this.o.tls ? 'https' : 'http'}://${host}:${port}`;
  }

  private async dispatch(routes: Array<[RegExp, Handler]>, req: IncomingMessage, url: URL): Promise<Reply> {
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    for (const [re, handler] of routes) {
      const m = re.exec(path);
      if (!m) continue;
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: { error: `method ${req.method} not allowed` } };
      try {
        return await handler(m, url.searchParams);
      } catch (err) {
        if (err instanceof BadRequest) return { status: 400, body: { error: err.message } };
        if (err instanceof HttpError) return { status: err.status, body: { error: err.message } };
        this.o.log.error({ err, path }, 'indexer request failed');
        return { status: 500, body: { error: 'internal error' } };
      }
    }
    return { status: 404, body: { error: 'not found' } };
  }

  close(): Promise<void> {
    const s = this.server;
    if (!s) return Promise.resolve();
    this.server = null;
    s.closeAllConnections();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}
