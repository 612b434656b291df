import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ImageError } from './errors.ts';
import { isDigestHex } from './hash.ts';
import { isValidName } from './ref.ts';
import { DirStore } from './store/dir-store.ts';
import { packFilePath } from './store/packs.ts';

/**
 * Serve a directory store read-only over HTTP (`zos image serve`): the store layout as-is, which
 * HttpStore reads (SPEC.md §5), plus `/<name>.flist` for each tag, so a zmachine's `flist` URL
 * names one image. GET and HEAD only, one byte range where asked (HttpStore reads packed chunks
 * so); paths are matched, never joined from raw input.
 */
export interface ImageServer {
  url: string;
  close(): Promise<void>;
}

/** Where `/NAME.flist` points: the store at the URL's origin and the tag NAME. */
export function parseFlistUrl(flist: string): { store: string; name: string } {
  let u: URL;
  try {
    u = new URL(flist);
  } catch {
    throw new ImageError('BAD_REF', `flist '${flist}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageError('BAD_REF', `flist '${flist}' is not an http(s) URL`);
  const m = /^\/(.+)\.flist$/.exec(decodeURIComponent(u.pathname));
  if (!m || !isValidName(m[1]!)) throw new ImageError('BAD_REF', `flist '${flist}' does not name an image: expected http://HOST:PORT/NAME.flist`);
  return { store: `${u.origin}/`, name: m[1]! };
}

export async function serveStore(dir: string, opts: { host?: string; port?: number } = {}): Promise<ImageServer> {
  const store = await DirStore.open(dir, { create: false });
  const file = async (path: string): Promise<string | undefined> => {
    const s = await stat(path).catch(() => undefined);
    return s?.isFile() ? path : undefined;
  };
  const resolvePath = async (pathname: string): Promise<{ path: string; type: string; digest?: string } | undefined> => {
    if (pathname === '/zos-image-store') return { path: join(dir, 'zos-image-store'), type: 'text/plain' };
    let m = /^\/chunks\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(pathname);
    if (m && m[2]!.startsWith(m[1]!)) return { path: store.chunkPath(m[2]!), type: 'application/octet-stream' };
    m = /^\/manifests\/([0-9a-f]{2})\/([0-9a-f]{64})(\.packs)?$/.exec(pathname);
    if (m && m[2]!.startsWith(m[1]!)) return { path: `${store.manifestPath(m[2]!)}${m[3] ?? ''}`, type: m[3] ? 'text/plain' : 'application/json' };
    m = /^\/packs\/([0-9a-f]{64})\.(pack|idx)$/.exec(pathname);
    if (m) return { path: packFilePath(dir, m[1]!, m[2] as 'pack' | 'idx'), type: 'application/octet-stream' };
    m = /^\/tags\/([^/]+)$/.exec(pathname);
    if (m) {
      // HttpStore encodes the name twice (the file name is encoded once).
      const once = safeDecode(m[1]!);
      const name = once === undefined ? undefined : safeDecode(once);
      if (name && isValidName(name)) return { path: join(dir, 'tags', encodeURIComponent(name)), type: 'text/plain' };
      return undefined;
    }
    m = /^\/(.+)\.flist$/.exec(pathname);
    const name = m && safeDecode(m[1]!);
    if (name && isValidName(name)) {
      const digest = await store.getTag(name).catch(() => undefined);
      if (digest && isDigestHex(digest)) return { path: store.manifestPath(digest), type: 'application/json', digest };
    }
    return undefined;
  };
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    void resolvePath(pathname)
      .then(async (r) => {
        const path = r && (await file(r.path));
        if (!r || !path) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        const size = (await stat(path)).size;
        const range = byteRange(req.headers.range, size);
        if (range === 'unsatisfiable') return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        const head = { 'content-type': r.type, 'accept-ranges': 'bytes', ...(r.digest ? { 'x-zos-image-digest': `blake3:${r.digest}` } : {}) };
        if (range) res.writeHead(206, { ...head, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${size}` });
        else res.writeHead(200, { ...head, 'content-length': size });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(path, range ?? {}).on('error', () => res.destroy()).pipe(res);
      })
      .catch(() => res.writeHead(500).end());
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * One range of a Range header (`bytes=a-b`, `bytes=a-`, `bytes=-n`), inclusive; undefined for no
 * header or one this server does not take (several ranges, other units): the whole file, as RFC
 * 9110 allows.
 */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const [start, end] = m[1] === '' ? [Math.max(0, size - Number(m[2])), size - 1] : [Number(m[1]), m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
