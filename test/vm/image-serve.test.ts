import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { blake3Hex, initHash } from '../../image/hash.ts';
import { DirStore, HttpStore, openImageStore } from '../../image/index.ts';
import { parseFlistUrl, serveStore } from '../../image/serve.ts';
import { prng, tempDir } from '../image/fixtures.ts';

async function published(dir: string): Promise<{ store: string; digest: string }> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'bin'), { recursive: true });
  await writeFile(join(src, 'bin/app'), prng(200_000, 7));
  await writeFile(join(src, 'hello.txt'), 'hello\n');
  const store = join(dir, 'store');
  const remote = await DirStore.open(store);
  const builder = await openImageStore(join(dir, 'builder'));
  const r = await builder.build(src, { tag: 'apps/hello:1', store: remote, xattrs: 'skip' });
  await builder.close();
  return { store, digest: r.digest };
}

test('image serve: a node pulls the image a /NAME.flist URL names, every object checked', async (t) => {
  const dir = await tempDir(t);
  const { store, digest } = await published(dir);
  const server = await serveStore(store, { host: '127.0.0.1', port: 0 });
  t.after(() => server.close());

  const flist = `${server.url}/apps/hello:1.flist`;
  const res = await fetch(flist);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-zos-image-digest'), `blake3:${digest}`);
  await initHash();
  assert.equal(blake3Hex(new Uint8Array(await res.arrayBuffer())), digest, 'the .flist body is the manifest');

  const where = parseFlistUrl(flist);
  assert.deepEqual(where, { store: `${server.url}/`, name: 'apps/hello:1' });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const pulled = await node.pull(where.name, new HttpStore(where.store));
  assert.equal(pulled.digest, digest);
  const root = await node.materialize(where.name);
  assert.ok(root.path);

  assert.equal((await fetch(`${server.url}/nope.flist`)).status, 404);
  assert.equal((await fetch(`${server.url}/../../etc/passwd`)).status, 404);
  assert.equal((await fetch(`${server.url}/tags/..%252F..%252Fetc%252Fpasswd`)).status, 404);
  assert.equal((await fetch(`${server.url}/apps/hello:1.flist`, { method: 'POST' })).status, 405);
  const head = await fetch(flist, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers.get('content-length')) > 0);
});

test('image serve: packs, their indexes and pack lists are served, a byte range with 206, an unsatisfiable one with 416', async (t) => {
  const dir = await tempDir(t);
  const { store, digest } = await published(dir);
  const server = await serveStore(store, { host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const list = await fetch(`${server.url}/manifests/${digest.slice(0, 2)}/${digest}.packs`);
  assert.equal(list.status, 200);
  const [pack] = (await list.text()).trim().split('\n');
  assert.match(pack!, /^[0-9a-f]{64}$/, 'the build packed its chunks');
  const index = new Uint8Array(await (await fetch(`${server.url}/packs/${pack}.idx`)).arrayBuffer());
  await initHash();
  assert.equal(blake3Hex(index), pack, 'an index is named by its BLAKE3');
  const whole = Buffer.from(await (await fetch(`${server.url}/packs/${pack}.pack`)).arrayBuffer());
  const ranged = await fetch(`${server.url}/packs/${pack}.pack`, { headers: { range: 'bytes=10-19' } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${whole.length}`);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), whole.subarray(10, 20));
  const tail = await fetch(`${server.url}/packs/${pack}.pack`, { headers: { range: 'bytes=-5' } });
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), whole.subarray(-5));
  const past = await fetch(`${server.url}/packs/${pack}.pack`, { headers: { range: `bytes=${whole.length}-` } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${whole.length}`);
  assert.equal((await fetch(`${server.url}/packs/${'0'.repeat(64)}.pack`)).status, 404);
  assert.equal((await fetch(`${server.url}/packs/${pack}.pack.tmp`)).status, 404);
});

test('image serve: flist URLs that name no image are refused with a clear error', () => {
  assert.throws(() => parseFlistUrl('ftp://1.2.3.4/x.flist'), /not an http\(s\) URL/);
  assert.throws(() => parseFlistUrl('http://1.2.3.4/x.tar'), /expected http:\/\/HOST:PORT\/NAME\.flist/);
  assert.throws(() => parseFlistUrl('not a url'), /is not a URL/);
});

test('zos image serve prints ready URL and serves until SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const { store } = await published(dir);
  const child = execa('node', ['--import', 'tsx', 'bin/zos.ts', 'image', 'serve', '--store', store, '--port', '0'], { reject: false });
  t.after(() => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ready line within 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (http:\/\/127\.0\.0\.1:\d+)/.exec(String(d));
      if (m) (clearTimeout(timer), resolve(m[1]!));
    });
  });
  assert.equal((await fetch(`${url}/apps/hello:1.flist`)).status, 200);
  child.kill('SIGTERM');
  assert.equal((await child).exitCode, 0);
});
