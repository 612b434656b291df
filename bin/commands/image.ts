import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { createLogger } from '../../lib/log.ts';
import { stopOnSignals } from '../../lib/shutdown.ts';
import { openImageStore, openStoreAt, type ImageNode } from '../../image/index.ts';
import { decodeManifest } from '../../image/manifest.ts';
import { resolveRef } from '../../image/resolve.ts';
import { ImageError } from '../../image/errors.ts';

/**
 * `zos image …`: build, inspect, verify, pull and gc content-addressed images.
 * The node's image directory defaults to $ZOS_IMAGE_DIR or /var/lib/zos/image.
 */
const DEFAULT_DIR = process.env.ZOS_IMAGE_DIR ?? '/var/lib/zos/image';

/** A byte progress bar on stderr when it is a terminal; a no-op otherwise. */
function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% {done}/{all} MiB eta {eta}s`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return {
    update(done, total) {
      if (!started) bar.start(total, 0, { done: mib(0), all: mib(total) });
      started = true;
      bar.setTotal(total);
      bar.update(done, { done: mib(done), all: mib(total) });
    },
    stop: () => started && bar.stop(),
  };
}

async function withNode<T>(opts: { dir: string }, fn: (node: ImageNode) => Promise<T>): Promise<void> {
  const node = await openImageStore(opts.dir, { log: createLogger({ name: 'image', level: process.env.ZOS_LOG_LEVEL ?? 'warn' }) });
  try {
    const out = await fn(node);
    if (out !== undefined) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`error: ${err instanceof ImageError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await node.close();
  }
}

export function register(program: Command): void {
  const image = program.command('image').description('content-addressed, deduplicated images verified at launch');
  const dirOpt = ['--dir <dir>', 'node image directory (store/, cache/, roots/)', DEFAULT_DIR] as const;

  image
    .command('build <source>')
    .description('build an image from a directory or a tarball')
    .requiredOption('--tag <name>', 'tag the image NAME')
    .option('--store <urlOrDir>', 'write chunks and manifest to this directory store instead of the node store')
    .option('--encrypt', 'convergent chunk encryption (the manifest then holds the keys: keep it private)')
    .option(...dirOpt)
    .action((source: string, o: { tag: string; store?: string; encrypt?: boolean; dir: string }) =>
      withNode(o, async (node) => {
        const store = o.store ? await openStoreAt(o.store) : undefined;
        const bar = progressBar('build');
        try {
          const r = await node.build(source, { tag: o.tag, encrypt: o.encrypt, ...(store ? { store } : {}), onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal) });
          const { manifest: _m, ...summary } = r;
          return summary;
        } finally {
          bar.stop();
          await store?.close();
        }
      }),
    );

  image
    .command('inspect <ref>')
    .description('show an image manifest summary (--entries for every entry)')
    .option('--entries', 'list all entries')
    .option('--store <urlOrDir>', 'read from this store instead of the node store')
    .option(...dirOpt)
    .action((ref: string, o: { entries?: boolean; store?: string; dir: string }) =>
      withNode(o, async (node) => {
        const store = o.store ? await openStoreAt(o.store, { create: false }) : node.store;
        try {
          const { name, digest } = await resolveRef(store, ref);
          const m = decodeManifest(await store.getManifest(digest));
          const count: Record<string, number> = {};
          let bytes = 0;
          const chunks = new Set<string>();
          for (const e of m.entries) {
            count[e.type] = (count[e.type] ?? 0) + 1;
            if (e.type === 'file') {
              bytes += e.size;
              for (const x of e.extents) if ('id' in x) chunks.add(x.id);
            }
          }
          return { name, digest: `blake3:${digest}`, version: m.version, chunking: m.chunking, encryption: m.encryption, entries: count, bytes, chunks: chunks.size, ...(o.entries ? { list: m.entries } : {}) };
        } finally {
          if (store !== node.store) await store.close();
        }
      }),
    );

  image
    .command('verify <ref>')
    .description('check every chunk and file fingerprint of an image in the store, and its cache copy if materialized')
    .option(...dirOpt)
    .action((ref: string, o: { dir: string }) =>
      withNode(o, async (node) => {
        const bar = progressBar('verify');
        try {
          const store = await node.verify(ref, { onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal) });
          const cache = await node.cache.verify(node.store, store.digest).catch((err: unknown) => {
            if (err instanceof ImageError && err.code === 'NOT_FOUND') return 'not materialized';
            throw err;
          });
          return { ok: true, store, cache };
        } finally {
          bar.stop();
        }
      }),
    );

  image
    .command('pull <ref>')
    .description('fetch an image (and its chunks) into the node store')
    .requiredOption('--from <urlOrDir>', 'remote store: http(s) URL or directory')
    .option(...dirOpt)
    .action((ref: string, o: { from: string; dir: string }) =>
      withNode(o, async (node) => {
        const bar = progressBar('pull');
        try {
          return await node.pull(ref, o.from, { onProgress: (p) => bar.update(p.chunksDone, p.chunksTotal) });
        } finally {
          bar.stop();
        }
      }),
    );

  image
    .command('serve')
    .description('serve a directory store read-only over HTTP; the image tagged NAME is at /NAME.flist')
    .requiredOption('--store <dir>', 'directory store (written by `zos image build SRC --tag NAME --store DIR`)')
    .option('--host <host>', 'listen address (an IP: grid clients refuse `localhost` in flist URLs)', '127.0.0.1')
    .option('--port <port>', 'listen port (0 = any free port)', '8099')
    .action(async (o: { store: string; host: string; port: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) program.error(`bad --port "${o.port}"`);
      const { serveStore } = await import('../../image/serve.ts');
      const log = createLogger({ name: 'image-serve' });
      try {
        const server = await serveStore(o.store, { host: o.host, port });
        stopOnSignals(log, 'image server', () => server.close());
        process.stdout.write(`ready ${server.url}\n`);
      } catch (err) {
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });

  image
    .command('base')
    .description('build the base image (busybox + dropbear SSH server, from Debian packages) and tag it')
    .option('--tag <name>', 'tag the image NAME', 'base')
    .option('--store <dir>', 'write to this directory store instead of the node store')
    .option('--debs <dir>', 'where Debian packages are downloaded (apt-get download)', '/var/cache/zos/base-debs')
    .option(...dirOpt)
    .action((o: { tag: string; store?: string; debs: string; dir: string }) =>
      withNode(o, async (node) => {
        const { buildBaseRoot } = await import('../../image/base.ts');
        const { mkdtemp, rm } = await import('node:fs/promises');
        const tmp = await mkdtemp('/tmp/zos-base-');
        const store = o.store ? await openStoreAt(o.store) : undefined;
        try {
          const { packages } = await buildBaseRoot(`${tmp}/root`, { debDir: o.debs });
          const r = await node.build(`${tmp}/root`, { tag: o.tag, ...(store ? { store } : {}) });
          const { manifest: _m, ...summary } = r;
          return { ...summary, packages };
        } finally {
          await store?.close();
          await rm(tmp, { recursive: true, force: true });
        }
      }),
    );

  image
    .command('gc')
    .description('remove chunks not referenced by any tagged manifest (and untagged manifests); rewrite packs whose referenced chunks are at most half their bytes')
    .option('--grace <seconds>', 'keep objects younger than this (in-flight builds)', '3600')
    .option(...dirOpt)
    .action((o: { grace: string; dir: string }) =>
      withNode(o, async (node) => {
        const grace = Number(o.grace);
        if (!Number.isFinite(grace) || grace < 0) throw new ImageError('BAD_INPUT', `bad --grace "${o.grace}"`);
        return node.gc({ graceMs: grace * 1000 });
      }),
    );
}
