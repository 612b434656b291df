import { createRequire } from 'node:module';

/**
 * The `region` of a node's country as gridproxy has it: its `country` table, filled by the
 * GraphQL processor's init-countries script from its own copy of the mledoze/countries data set
 * (tfchain_graphql scripts/countries.json, 2024-06-24), joined on LOWER(node.country) =
 * LOWER(country.name), the country's common English name, with that data set's region (Africa,
 * Americas, Antarctic, Asia, Europe, Oceania). The npm package world-countries is the same data
 * set; a country whose name does not match has no region, as in gridproxy.
 */
interface WorldCountry {
  name: { common: string };
  cca3: string;
  region: string;
}

/**
 * Where gridproxy's copy names a country differently from world-countries 5.1.0, by ISO code.
 * Compared over all 250 countries (code, common name, region): only Turkey differs, which the
 * package renamed Türkiye after gridproxy's copy was taken. A node registered as "Türkiye"
 * has no region there, so none here either.
 */
const GRIDPROXY_NAMES: Readonly<Record<string, string>> = { TUR: 'Turkey' };

let regions: Map<string, string> | null = null;

/** Lower-cased common name -> region, as in gridproxy's country table. */
export function countryRegions(): Map<string, string> {
  if (!regions) {
    // Loaded on the first region filter only: the data set is ~1 MB of JSON.
    const countries = createRequire(import.meta.url)('world-countries') as WorldCountry[];
    regions = new Map(countries.map((c) => [(GRIDPROXY_NAMES[c.cca3] ?? c.name.common).toLowerCase(), c.region]));
  }
  return regions;
}

/** Lower-cased common names of the countries in `region` (matched case-insensitively); [] for an unknown region. */
export function countriesInRegion(region: string): string[] {
  const want = region.toLowerCase();
  return [...countryRegions()].filter(([, r]) => r.toLowerCase() === want).map(([name]) => name);
}
