import { cpus, totalmem } from 'node:os';
import { GiB, zeroCapacity, type Capacity } from './model/index.ts';

/** Resources registered on chain (tfchain Resources {hru, sru, cru, mru}, bytes and cores). */
export interface Resources {
  hru: number;
  sru: number;
  cru: number;
  mru: number;
}

export interface PoolSummary {
  type: 'ssd' | 'hdd';
  size: number;
}

/** Totals as zos measures them: CRU = logical CPUs, MRU = RAM, SRU = Σ SSD pools, HRU = Σ HDD pools. */
export function measureResources(pools: readonly PoolSummary[], machine = { cpus: cpus().length, memory: totalmem() }): Resources {
  return {
    cru: machine.cpus,
    mru: machine.memory,
    sru: pools.filter((p) => p.type === 'ssd').reduce((a, p) => a + p.size, 0),
    hru: pools.filter((p) => p.type === 'hdd').reduce((a, p) => a + p.size, 0),
  };
}

/** What the system keeps for itself: SRU = the cache (5 GiB), MRU = max(10 % of RAM, 2 GiB). */
export function systemReserve(total: Resources): Capacity {
  return { ...zeroCapacity(), sru: 5 * GiB, mru: Math.max(Math.floor(total.mru / 10), 2 * GiB) };
}
