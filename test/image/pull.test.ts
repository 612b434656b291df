import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { openImageStore, pullImage, HttpStore, DirStore, verifyImage } from '../../image/index.ts';
import { ImageError } from '../../image/errors.ts';
import { decodeManifest, manifestChunks } from '../../image/manifest.ts';
import { chunkAt, flipByte, makeRichTree, prng, storedChunkIds, tempDir } from './fixtures.ts';
import { writeFile, mkdir } from 'node:fs/promises';

/** A static file server over a directory store on 127.0.0.1, counting GETs; it honours `bytes=a-b` ranges as nginx does, unless `ranges` is false. */
async function serveDir(t: TestContext, root: string, opts: { ranges?: boolean } = {}): Promise<{ url: string; gets: () => number }> {
  let gets = 0;
  const server = createServer((req, res) => {
    gets++;
    const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const range = opts.ranges === false ? null : /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    readFile(join(root, rel)).then(
      (body) => {
        if (!range) return void res.writeHead(200, { 'content-length': body.length }).end(body);
        const part = body.subarray(Number(range[1]), Number(range[2]) + 1);
        res.writeHead(206, { 'content-length': part.length, 'content-range': `bytes ${range[1]}-${range[2]}/${body.length}` }).end(part);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, gets: () => gets };
}

async function publish(t: TestContext): Promise<{ dir: string; remote: string; digest: string }> {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  await mkdir(join(src, 'big'), { recursive: true });
  for (let i = 0; i < 6; i++) await writeFile(join(src, 'big', `blob${i}`), prng(600_000, 50 + i));
  const remote = join(dir, 'remote');
  const store = await DirStore.open(remote);
  const r = await (await openImageStore(join(dir, 'builder'))).build(src, { tag: 'app:1', store, xattrs: 'skip' });
  return { dir, remote, digest: r.digest };
}

test('http store: pull by tag over http from 127.0.0.1, every chunk verified, then materialize', async (t) => {
  const { dir, remote, digest } = await publish(t);
  const srv = await serveDir(t, remote);
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const r = await node.pull('app:1', srv.url);
  assert.equal(r.digest, digest);
  assert.ok(r.fetchedChunks > 40 && r.fetchedChunks === r.chunks, `${r.fetchedChunks}/${r.chunks} chunks fetched`);
  assert.deepEqual(await readdir(join(dir, 'node/store/chunks')), [], 'no chunk files: the pull packed them');
  assert.equal((await storedChunkIds(join(dir, 'node/store'))).length, r.chunks, 'each once, in one pack');
  assert.equal((await readdir(join(dir, 'node/store/packs'))).length, 2, 'the pack and its index');
  const again = await node.pull(`app:1@blake3:${digest}`, srv.url);
  assert.equal(again.fetchedChunks, 0, 'a second pull fetches no chunk');
  await node.verify('app:1');
  const m = await node.materialize('app:1');
  assert.equal(m.created, true);
});

test('http store: a chunk tampered on the server is refused, and nothing is tagged', async (t) => {
  const { dir, remote, digest } = await publish(t);
  const store = await DirStore.open(remote);
  const ids = [...manifestChunks(decodeManifest(await store.getManifest(digest))).keys()];
  const chunk = chunkAt(store, ids[3]!);
  await flipByte(chunk.path, chunk.offset + 5);
  const srv = await serveDir(t, remote);
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  await assert.rejects(node.pull('app:1', srv.url), (e: unknown) => e instanceof ImageError && e.code === 'CHUNK_CORRUPT' && e.message.includes(ids[3]!));
  assert.equal(await node.store.getTag('app:1'), undefined);
  assert.equal(await node.store.hasManifest(digest), false);
});

test('http store: packed chunks need a server that honours Range; one that ignores it is a clear STORE_IO, nothing tagged', async (t) => {
  const { dir, remote, digest } = await publish(t);
  assert.ok((await readdir(join(remote, 'packs'))).some((f) => f.endsWith('.pack')), 'the build stored its chunks in packs');
  const srv = await serveDir(t, remote, { ranges: false });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  await assert.rejects(node.pull('app:1', srv.url), (e: unknown) => e instanceof ImageError && e.code === 'STORE_IO' && /ignored a Range request \(HTTP 200\)/.test(e.message));
  assert.equal(await node.store.getTag('app:1'), undefined);
  assert.equal(await node.store.hasManifest(digest), false);
});

test('http store: is read-only and reports missing images as NOT_FOUND', async (t) => {
  const { remote } = await publish(t);
  const srv = await serveDir(t, remote);
  const http = new HttpStore(srv.url);
  await assert.rejects(http.putManifest(), (e: unknown) => e instanceof ImageError && e.code === 'READ_ONLY');
  assert.equal(await http.getTag('nope'), undefined);
  await assert.rejects(verifyImage(http, 'nope'), (e: unknown) => e instanceof ImageError && e.code === 'NOT_FOUND');
  await http.close();
});

test('concurrent pulls: six pulls of one image (in-process and two processes) leave a consistent store', async (t) => {
  const { dir, remote, digest } = await publish(t);
  const srv = await serveDir(t, remote);
  const target = join(dir, 'node');
  const node = await openImageStore(target);
  t.after(() => node.close());
  const cli = (from: string) => execa('node', ['--import', 'tsx', 'bin/zos.ts', 'image', 'pull', 'app:1', '--from', from, '--dir', target], { cwd: process.cwd(), reject: false });
  const procs = [cli(srv.url), cli(remote)];
  const inproc = await Promise.all([
    pullImage(node.store, await DirStore.open(remote), 'app:1'),
    pullImage(node.store, new HttpStore(srv.url), 'app:1', { concurrency: 3 }),
    pullImage(node.store, new HttpStore(srv.url), 'app:1', { concurrency: 16 }),
    pullImage(node.store, await DirStore.open(remote), `blake3:${digest}`),
  ]);
  for (const p of await Promise.all(procs)) assert.equal(p.exitCode, 0, p.stderr);
  assert.ok(inproc.every((r) => r.digest === digest));
  const v = await node.verify('app:1');
  assert.equal(v.digest, digest);
  const tmp = await execa('find', [join(target, 'store/tmp'), '-type', 'f']);
  assert.equal(tmp.stdout.trim(), '', 'no temp file left behind');
  // Pulls at once may each pack a chunk: gc keeps one copy of each, in the pack readers take it from.
  const unique = manifestChunks(decodeManifest(await node.store.getManifest(digest))).size;
  const copies = (await storedChunkIds(join(target, 'store'))).length;
  const gc = await node.gc({ graceMs: 0 });
  assert.equal(gc.removedChunks, copies - unique, `${copies} copies of ${unique} chunks`);
  assert.equal((await storedChunkIds(join(target, 'store'))).length, unique);
  await node.verify('app:1');
});
