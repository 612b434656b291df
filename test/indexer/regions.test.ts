import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { countriesInRegion, countryRegions } from '../../indexer/rest/regions.ts';

/**
 * The `region` filter's table equals gridproxy's `country` table: the 250 lines "name<TAB>region"
 * (name lower-cased, lines sorted, joined by newlines) of tfchain_graphql's scripts/countries.json
 * (2024-06-24, the copy init-countries.js loads) hash to this sha256. A world-countries upgrade
 * that renames a country fails here instead of silently dropping its nodes from a region.
 */
const GRIDPROXY_COUNTRIES_SHA256 = '3d9321c1e13d9d147c397c17595657c588c203f638798349136bfec23271d8d2';

test("the country -> region table is gridproxy's, name for name", () => {
  const lines = [...countryRegions()].map(([name, region]) => `${name}\t${region}`).sort();
  assert.equal(lines.length, 250);
  assert.equal(createHash('sha256').update(lines.join('\n')).digest('hex'), GRIDPROXY_COUNTRIES_SHA256);
});

test('Turkey is in Asia under the name gridproxy has; the package\'s "Türkiye" has no region, as there', () => {
  const asia = countriesInRegion('ASIA');
  assert.ok(asia.includes('turkey'));
  assert.ok(!asia.includes('türkiye'));
  assert.equal(countryRegions().get('türkiye'), undefined);
  assert.ok(countriesInRegion('europe').includes('belgium'));
  assert.deepEqual(countriesInRegion('atlantis'), []);
});
