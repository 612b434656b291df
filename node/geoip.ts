/**
 * The node's location from a geoip service (zosbase pkg/geoip): the first URL that answers wins;
 * a service that omits a field leaves zos' default there. No URL, or none answering, is zos' own
 * error text; the answer is kept for a day once one service has answered.
 */
import { z } from 'zod';

export interface Location {
  longitude: number;
  latitude: number;
  continent: string;
  country_name: string;
  country_code: string;
  city_name: string;
}

export const LOCATION_ERROR = 'failed to fetch location information';
const CACHE_MS = 24 * 60 * 60_000;

const answerSchema = z
  .object({
    longitude: z.number(),
    latitude: z.number(),
    continent: z.string(),
    country_name: z.string(),
    country_code: z.string(),
    city_name: z.string(),
  })
  .partial();

/** The JSON a geoip service answered, over zos' defaults (what Go's decoder into a preset struct does). */
export function parseLocation(body: unknown): Location {
  const got = answerSchema.parse(body);
  return {
    longitude: got.longitude ?? 0,
    latitude: got.latitude ?? 0,
    continent: got.continent ?? 'Unknown',
    country_name: got.country_name ?? 'Unknown',
    country_code: got.country_code ?? '',
    city_name: got.city_name ?? 'Unknown',
  };
}

export class GeoIp {
  private cached: { at: number; location: Location } | null = null;

  constructor(
    private readonly urls: readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  async location(): Promise<Location> {
    if (this.cached && this.now() - this.cached.at < CACHE_MS) return this.cached.location;
    for (const url of this.urls) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        if (res.status !== 200) continue;
        const location = parseLocation(await res.json());
        this.cached = { at: this.now(), location };
        return location;
      } catch {
        // zos logs and tries the next service.
      }
    }
    throw new Error(LOCATION_ERROR);
  }
}
