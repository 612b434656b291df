import { createRequire } from 'node:module';

/**
 * The `region` of a node's country as gridproxy has it: its `country` table (filled by the
 * GraphQL processor's init-countries script from the mledoze/countries data set) joined on
 * LOWER(node.country) = LOWER(country.name), the country's common English name, with that data
 * set's region (Africa, Americas, Antarctic, Asia, Europe, Oceania). The same data set is the npm
 * package world-countries; a country whose name does not match has no region, as in gridproxy.
 */
interface WorldCountry {
  name: { common: string };
  region: string;
}

let byRegion: Map<string, string[]> | null = null;

/** Lower-cased common names of the countries in `region` (matched case-insensitively); [] for an unknown region. */
export function countriesInRegion(region: string): string[] {
  if (!byRegion) {
    // Loaded on the first region filter only: the data set is ~1 MB of JSON.
    const countries = createRequire(import.meta.url)('world-countries') as WorldCountry[];
    byRegion = new Map();
    for (const c of countries) {
      const key = c.region.toLowerCase();
      byRegion.set(key, [...(byRegion.get(key) ?? []), c.name.common.toLowerCase()]);
    }
  }
  return byRegion.get(region.toLowerCase()) ?? [];
}
