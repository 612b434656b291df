// The node's zos.* command table over a temp engine database and the real host, dispatched the way
// the relay peer does it (JSON in, JSON bytes or an error message out). No chain, relay or pools.
import type { TestContext } from 'node:test';
import { Router } from '../../../relay-client/router.ts';
import { routes } from '../../../node/api/routes.ts';
import { nodeServices, type NodeServicesOptions } from '../../../node/api/node-services.ts';
import { DeploymentStore } from '../../../node/engine/store.ts';
import { GeoIp } from '../../../node/geoip.ts';
import { HostSystem } from '../../../node/host/system/index.ts';
import { zeroCapacity } from '../../../node/model/index.ts';
import { openDb, tempDbPath } from '../engine/engine-db.testing.ts';

export interface ApiFixture {
  store: DeploymentStore;
  /** The decoded JSON answer; rejects with the error envelope's message. */
  call(command: string, payload?: unknown, twin?: number): Promise<any>;
  /** The answer's exact bytes as text (key order included). */
  raw(command: string, payload?: unknown, twin?: number): Promise<string>;
}

export function apiFixture(t: TestContext, over: Partial<NodeServicesOptions> = {}): ApiFixture {
  const store = new DeploymentStore(openDb(t, tempDbPath(t)));
  const unused = <T>(what: string) =>
    new Proxy({}, { get: () => { throw new Error(`${what} is not part of this fixture`); } }) as T;
  const services = nodeServices({
    deployments: unused('deployments'), store, storage: unused('storage'), chain: unused('chain'), farmId: 1,
    total: { cru: 1, mru: 1, sru: 1, hru: 0 }, reserve: zeroCapacity(), features: ['zmount'], host: new HostSystem(), wgPorts: () => [],
    publicNet: {
      live: async () => { throw new Error('no public configuration'); }, setup: () => null,
      exitDevice: async () => { throw new Error('no public bridge found: Link not found'); }, setExitNic: async () => { throw new Error('Link not found'); },
    },
    geoip: new GeoIp([]), adminTwins: [],
    diagnostics: unused('diagnostics'), perf: unused('perf'), networkResource: () => undefined,
    ...over,
  });
  const router = new Router();
  for (const [command, handler] of Object.entries(routes(services))) router.handle(command, handler);
  const raw = async (command: string, payload?: unknown, twin = 1) => {
    const body = payload === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(payload));
    const r = await router.dispatch(body, { twin, uid: 'test', command });
    if (!r.ok) throw new Error(r.message);
    return new TextDecoder().decode(r.json);
  };
  return { store, raw, call: async (c, p, tw) => JSON.parse(await raw(c, p, tw)) };
}
