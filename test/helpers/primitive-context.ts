import { silentLogger } from '../../lib/log.ts';
import type { PrimitiveContext } from '../../node/primitives/types.ts';

/** A PrimitiveContext for workload `name` of (twin, contract) whose deployment shows nothing else. */
export function primitiveContext(name: string, twin = 7, contract = 42): PrimitiveContext {
  return {
    workload: { twin, contract, name, id: `${twin}-${contract}-${name}` },
    deployment: { key: { twin, contract }, list: () => [], get: () => undefined, byType: () => [], network: () => undefined },
    log: silentLogger(),
    signal: new AbortController().signal,
  };
}
