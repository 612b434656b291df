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
