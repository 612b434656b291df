import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../indexer/indexer.ts';
import { SCHEMA_VERSION } from '../../indexer/store/schema.ts';

/** The store only indexes the chain: one of an older layout is rebuilt, one of a newer layout refused. */
test('a store of an older schema is dropped and followed again from scratch; a newer one is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zos-indexer-schema-'));
  try {
    let sql = await openStore({ dataDir: dir });
    await sql.run("UPDATE meta SET value = '1' WHERE key = 'schema'");
    await sql.run("INSERT INTO meta (key, value) VALUES ('cursor_block', '7'), ('cursor_hash', '0xab')");
    await sql.run("INSERT INTO twins (twin_id, id, grid_version, account_id) VALUES (1, 'x', 1, 'acc')");
    await sql.close();

    sql = await openStore({ dataDir: dir });
    assert.deepEqual(await sql.all('SELECT key, value FROM meta'), [{ key: 'schema', value: SCHEMA_VERSION }], 'no cursor: reindexed from scratch');
    assert.deepEqual(await sql.all('SELECT * FROM twins'), []);
    assert.deepEqual(await sql.all('SELECT price_usd FROM nodes'), [], 'the current layout');
    await sql.run("UPDATE meta SET value = ? WHERE key = 'schema'", [String(Number(SCHEMA_VERSION) + 1)]);
    await sql.close();

    await assert.rejects(openStore({ dataDir: dir }), /newer than this indexer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
