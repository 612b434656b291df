import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openImageStore } from '../../image/index.ts';
import { decodeManifestOf, manifestOf } from '../../image/manifest-memo.ts';
import { makeRichTree, tempDir } from './fixtures.ts';

/** image/manifest-memo: a pull's decoded manifest is what the materialize after it gets, frozen; others decode. */
test('manifest memo: a pulled manifest is reused while held, frozen; an unknown digest decodes its bytes', async (t) => {
  const dir = await tempDir(t);
  await makeRichTree(join(dir, 'src'), { root: false, xattrs: false });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const { digest } = await node.build(join(dir, 'src'), { tag: 'app', xattrs: 'skip' });
  const bytes = await node.store.getManifest(digest);
  const pulled = decodeManifestOf(digest, bytes);
  const again = await manifestOf(digest, () => assert.fail('decoded twice'));
  assert.equal(again, pulled);
  assert.throws(() => (again.entries as unknown[]).push({}), TypeError);
  assert.throws(() => Object.assign(again.entries[0]!, { path: 'x' }), TypeError);
  // Another digest: its bytes are read and decoded (and not kept).
  const other = '0'.repeat(64);
  await assert.rejects(manifestOf(other, async () => Buffer.from('{}')), { code: 'BAD_MANIFEST' });
});
