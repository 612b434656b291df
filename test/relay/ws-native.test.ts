import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

/**
 * Every frame a peer sends is masked and the relay unmasks it: ws does that with bufferutil's
 * native code where the addon loads, else with a JavaScript loop (slower per round trip,
 * bench/relay.ts). The addon is a prebuilt inside its npm package: this fails if an install
 * left ws on the fallback.
 */
test('ws masks and unmasks frames with bufferutil native code', () => {
  const require = createRequire(import.meta.url);
  const native = require('bufferutil') as { mask: (...a: unknown[]) => void; unmask: (...a: unknown[]) => void };
  assert.match(native.mask.toString(), /\[native code\]/);
  // The helper ws' Sender and Receiver call (not in its exports: reached by path).
  const wsUtil = require(join(dirname(require.resolve('ws')), 'lib/buffer-util.js')) as { mask: (...a: unknown[]) => void; unmask: (b: Buffer, m: Buffer) => void };
  // ws wraps the native functions (short buffers stay in JavaScript); its wrapper must be in use.
  assert.doesNotMatch(wsUtil.unmask.toString(), /buffer\[i\] \^= mask\[i & 3\]/);
  const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz0123456789');
  const copy = Buffer.from(data);
  const key = Buffer.from([1, 2, 3, 4]);
  wsUtil.unmask(copy, key);
  assert.deepEqual(copy, Buffer.from(data.map((b, i) => b ^ key[i & 3]!)));
});

/**
 * The OS image runs the daemon as one esbuild bundle with only the addons os/stage.ts copies
 * beside it, and bufferutil is not one of them: rmb/ws-frame.ts (every relay connection) must load
 * there and fall back to JavaScript, not stop the node's start on a missing module. Bundled as
 * os/bundle.ts bundles, written where no node_modules can be found, then loaded and used.
 */
test('rmb/ws-frame loads and frames without bufferutil, as in the OS image bundle', async (t) => {
  const { build } = await import('esbuild');
  const { GYP_PACKAGES, NAPI_PACKAGES } = await import('../../os/bundle.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync('/tmp/zos-ws-bundle-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'ws.mjs');
  await build({
    entryPoints: [new URL('../../rmb/ws-frame.ts', import.meta.url).pathname],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...GYP_PACKAGES, ...NAPI_PACKAGES],
    logLevel: 'silent',
    banner: { js: "import { createRequire as __zosRequire } from 'node:module';\nconst require = __zosRequire(import.meta.url);" },
  });
  const frames = (await import(out)) as typeof import('../../rmb/ws-frame.ts');
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
  const frame = frames.binaryFrame(payload, true);
  const read = frames.readBinaryFrame(frame, 0, true, 0, 1 << 16);
  assert.ok(typeof read === 'object');
  assert.deepEqual(Buffer.from(read.payload), payload);
});
