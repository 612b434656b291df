// Crash-safe deployment storage (zos provision/storage on SQLite): a header per twin/contract,
// the active-workload index, an append-only transaction log per workload and the per-twin
// network names. The current state of a workload is its last transaction that is not `unchanged`.
import { systemClock, type Clock } from '../../lib/clock.ts';
import { ZosError, zosErrors } from '../errors.ts';
import { zodMessage } from '../../lib/zod-issues.ts';
import { addCapacity, zeroCapacity, type Capacity } from '../model/model.ts';
import {
  deploymentSchema,
  signatureRequirementSchema,
  type Deployment,
  type SignatureRequirement,
} from '../model/deployment.ts';
import type { DeploymentKey } from '../model/ids.ts';
import { modelOf } from '../model/types.ts';
import { holdsResources, isActive, parseWorkloadData, RESULT_STATES, workloadSchema, type Result, type Workload } from '../model/workload.ts';
import type { EngineDb } from './store-db.ts';

export interface HeaderFields {
  version?: number;
  expiration?: number;
  metadata?: string;
  description?: string;
  signature_requirement?: SignatureRequirement;
}

function parseOrReject<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } }, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw zosErrors.badRequest(`invalid ${what}: ${zodMessage(r.error)}`, r.error);
  return r.data;
}

/** A stored result must be complete (zos Result.Valid). */
function checkResult(r: Result): void {
  if (r.created === 0) throw zosErrors.badRequest('failed to validate workload result: created time must be set');
  if (!(RESULT_STATES as readonly string[]).includes(r.state)) {
    throw zosErrors.badRequest('failed to validate workload result: invalid result state');
  }
}

export class DeploymentStore {
  readonly #db: EngineDb;
  readonly #clock: Clock;
  #generation = 0;

  constructor(db: EngineDb, opts: { clock?: Clock } = {}) {
    this.#db = db;
    this.#clock = opts.clock ?? systemClock;
  }

  /**
   * Bumped by every write (#write), so
   * a reader may keep what it derived from get() while the number is unchanged and no
   * transaction is open (zos.deployment.get answers; node/api/deployments.ts).
   */
  get generation(): number {
    return this.#db.sql.inTransaction ? -1 : this.#generation;
  }

  /** Every write goes through here: it bumps the generation (before writing; a rolled-back write bumps it too). */
  #write<T>(fn: () => T): T {
    this.#generation++;
    return this.#db.transaction(fn);
  }

  #now(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  #exists(twin: number, contract: number): boolean {
    return !!this.#db.sql.prepare('SELECT 1 FROM deployments WHERE twin = ? AND contract = ?').get(twin, contract);
  }

  #requireDeployment(twin: number, contract: number): void {
    if (!this.#exists(twin, contract)) throw zosErrors.deploymentNotFound();
  }

  /** Store a new deployment; every workload starts `init`. Throws EXISTS or CONFLICT and then writes nothing. */
  create(input: Deployment): void {
    const dl = parseOrReject(deploymentSchema, input, 'deployment');
    const sr = JSON.stringify(dl.signature_requirement);
    this.#write(() => {
      if (this.#exists(dl.twin_id, dl.contract_id)) throw zosErrors.exists();
      this.#db.sql
        .prepare(
          'INSERT INTO deployments (twin, contract, version, metadata, description, signature_requirement, expiration) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(dl.twin_id, dl.contract_id, dl.version, dl.metadata, dl.description, sr, dl.expiration);
      dl.workloads.forEach((wl, position) => this.#add(dl.twin_id, dl.contract_id, wl, position));
    });
  }

  /** Change header fields (an update writes these before its workloads). */
  update(twin: number, contract: number, fields: HeaderFields): void {
    const sr = fields.signature_requirement
      ? JSON.stringify(parseOrReject(signatureRequirementSchema, fields.signature_requirement, 'signature requirement'))
      : undefined;
    this.#write(() => {
      this.#requireDeployment(twin, contract);
      const set = (col: string, v: unknown) =>
        this.#db.sql.prepare(`UPDATE deployments SET ${col} = ? WHERE twin = ? AND contract = ?`).run(v, twin, contract);
      if (fields.version !== undefined) set('version', fields.version);
      if (fields.expiration !== undefined) set('expiration', fields.expiration);
      if (fields.metadata !== undefined) set('metadata', fields.metadata);
      if (fields.description !== undefined) set('description', fields.description);
      if (sr !== undefined) set('signature_requirement', sr);
    });
  }

  /** Add a workload to an existing deployment (state `init`), last unless placed by reorder(). */
  add(twin: number, contract: number, input: Workload): void {
    const wl = parseOrReject(workloadSchema, input, 'workload');
    this.#write(() => {
      const row = this.#db.sql.prepare('SELECT MAX(position) AS last FROM workloads WHERE twin = ? AND contract = ?').get(twin, contract) as { last: number | null };
      this.#add(twin, contract, wl, (row.last ?? -1) + 1);
    });
  }

  /** Record the order of the deployment as signed (an update's): `names` in that order. */
  reorder(twin: number, contract: number, names: readonly string[]): void {
    this.#write(() => {
      this.#requireDeployment(twin, contract);
      const set = this.#db.sql.prepare('UPDATE workloads SET position = ? WHERE twin = ? AND contract = ? AND name = ?');
      names.forEach((name, position) => set.run(position, twin, contract, name));
    });
  }

  #add(twin: number, contract: number, wl: Workload, position: number): void {
    const sql = this.#db.sql;
    this.#requireDeployment(twin, contract);
    if (modelOf(wl.type)?.sharable) {
      const owner = sql.prepare('SELECT contract FROM networks WHERE twin = ? AND name = ?').get(twin, wl.name);
      if (owner) throw zosErrors.conflict(wl.name);
      sql.prepare('INSERT INTO networks (twin, name, contract) VALUES (?, ?, ?)').run(twin, wl.name, contract);
    }
    const indexed = sql.prepare('SELECT 1 FROM workloads WHERE twin = ? AND contract = ? AND name = ?').get(twin, contract, wl.name);
    if (indexed) throw zosErrors.exists('workload with same name already exists in deployment');
    sql.prepare('INSERT INTO workloads (twin, contract, name, type, position) VALUES (?, ?, ?, ?, ?)').run(twin, contract, wl.name, wl.type, position);
    this.#append(twin, contract, { ...wl, result: { created: this.#now(), state: 'init', message: '', data: null } });
  }

  /**
   * Append a state (zos' "transaction") to an indexed workload's log. Its type must match the
   * index. A `deleted` state also takes the workload out of the index (and frees its network name).
   */
  appendState(twin: number, contract: number, input: Workload): void {
    const wl = parseOrReject(workloadSchema, input, 'workload');
    checkResult(wl.result);
    this.#write(() => {
      this.#requireDeployment(twin, contract);
      const row = this.#db.sql
        .prepare('SELECT type FROM workloads WHERE twin = ? AND contract = ? AND name = ?')
        .get(twin, contract, wl.name) as { type: string } | undefined;
      if (!row) throw zosErrors.workloadNotFound();
      if (row.type !== wl.type) throw zosErrors.store(`invalid workload type, expecting '${row.type}': invalid workload type`);
      this.#append(twin, contract, wl);
      if (wl.result.state === 'deleted') this.#remove(twin, contract, wl.name);
    });
  }

  #append(twin: number, contract: number, wl: Workload): void {
    this.#db.sql
      .prepare('INSERT INTO transactions (twin, contract, name, type, state, workload) VALUES (?, ?, ?, ?, ?, ?)')
      .run(twin, contract, wl.name, wl.type, wl.result.state, JSON.stringify(wl));
  }

  #remove(twin: number, contract: number, name: string): void {
    const sql = this.#db.sql;
    sql.prepare('DELETE FROM networks WHERE twin = ? AND name = ? AND contract = ?').run(twin, name, contract);
    sql.prepare('DELETE FROM workloads WHERE twin = ? AND contract = ? AND name = ?').run(twin, contract, name);
  }

  /** zos storage.Error: append `error` with `message` to every active workload. */
  setError(twin: number, contract: number, message: string): void {
    this.#write(() => {
      const created = this.#now();
      for (const wl of this.#workloads(twin, contract)) {
        this.#append(twin, contract, { ...wl, result: { created, state: 'error', message, data: null } });
      }
    });
  }

  has(twin: number, contract: number): boolean {
    return this.#exists(twin, contract);
  }

  /** The stored deployment with the current state of each active workload, in signed order; expiration is 0, as zos answers. */
  get(twin: number, contract: number): Deployment {
    return { ...this.signed(twin, contract), expiration: 0 };
  }

  /** The deployment as its owner last signed it (what the contract hash is of): get() with its expiration. */
  signed(twin: number, contract: number): Deployment {
    return this.#db.read(() => {
      const row = this.#db.sql
        .prepare('SELECT version, metadata, description, signature_requirement, expiration FROM deployments WHERE twin = ? AND contract = ?')
        .get(twin, contract) as { version: number; metadata: string; description: string; signature_requirement: string; expiration: number } | undefined;
      if (!row) throw zosErrors.deploymentNotFound();
      return {
        version: row.version,
        twin_id: twin,
        contract_id: contract,
        metadata: row.metadata,
        description: row.description,
        expiration: row.expiration,
        signature_requirement: JSON.parse(row.signature_requirement) as SignatureRequirement,
        workloads: this.#workloads(twin, contract),
      };
    });
  }

  #workloads(twin: number, contract: number): Workload[] {
    this.#requireDeployment(twin, contract);
    const rows = this.#db.sql
      .prepare(
        `SELECT w.name, w.type,
           (SELECT t.workload FROM transactions t
             WHERE t.twin = w.twin AND t.contract = w.contract AND t.name = w.name AND t.state != 'unchanged'
             ORDER BY t.seq DESC LIMIT 1) AS workload
         FROM workloads w WHERE w.twin = ? AND w.contract = ? ORDER BY w.position, w.name`,
      )
      .all(twin, contract) as { name: string; type: string; workload: string | null }[];
    return rows.map((r) => {
      if (r.workload === null) throw zosErrors.store('inconsistency in deployment, missing workload transactions');
      const wl = JSON.parse(r.workload) as Workload;
      if (wl.type !== r.type) throw zosErrors.store('database inconsistency wrong workload type');
      return wl;
    });
  }

  /** Current state of one active workload. */
  current(twin: number, contract: number, name: string): Workload {
    const wl = this.get(twin, contract).workloads.find((w) => w.name === name);
    if (!wl) throw zosErrors.workloadNotFound();
    return wl;
  }

  /** The full transaction log, oldest first (`zos.deployment.changes`). */
  changes(twin: number, contract: number): Workload[] {
    return this.#db.read(() => {
      this.#requireDeployment(twin, contract);
      const rows = this.#db.sql
        .prepare('SELECT workload FROM transactions WHERE twin = ? AND contract = ? ORDER BY seq')
        .all(twin, contract) as { workload: string }[];
      return rows.map((r) => JSON.parse(r.workload) as Workload);
    });
  }

  /** Remove a deployment, its log and its network names. Missing is fine. */
  delete(twin: number, contract: number): void {
    this.#write(() => this.#db.sql.prepare('DELETE FROM deployments WHERE twin = ? AND contract = ?').run(twin, contract));
  }

  twins(): number[] {
    return (this.#db.sql.prepare('SELECT DISTINCT twin FROM deployments ORDER BY twin').all() as { twin: number }[]).map((r) => r.twin);
  }

  byTwin(twin: number): number[] {
    const rows = this.#db.sql.prepare('SELECT contract FROM deployments WHERE twin = ? ORDER BY contract').all(twin) as { contract: number }[];
    return rows.map((r) => r.contract);
  }

  keys(): DeploymentKey[] {
    return this.#db.sql.prepare('SELECT twin, contract FROM deployments ORDER BY twin, contract').all() as DeploymentKey[];
  }

  /** The contract holding a twin's network name, if any. */
  networkOwner(twin: number, name: string): number | undefined {
    const row = this.#db.sql.prepare('SELECT contract FROM networks WHERE twin = ? AND name = ?').get(twin, name) as { contract: number } | undefined;
    return row?.contract;
  }

  /** Deployments with at least one active workload (zos Deployment.IsActive). */
  listActive(twin?: number): Deployment[] {
    return this.#db.read(() => {
      const keys = twin === undefined ? this.keys() : this.byTwin(twin).map((contract) => ({ twin, contract }));
      return keys
        .map((k) => this.get(k.twin, k.contract))
        .filter((dl) => dl.workloads.some((w) => isActive(w.result.state)));
    });
  }

  /**
   * Drop deployments with no ok/paused workload: at boot (zos) every one, later (`idleSec`) those
   * whose last change is older than that, so rows nothing holds (a failed contract check, a
   * cancelled contract) do not pile up. A deployment with a queued job is kept (its workloads
   * may be `init`, waiting for that job).
   */
  cleanDeleted(o: { idleSec?: number } = {}): DeploymentKey[] {
    const cutoff = this.#now() - (o.idleSec ?? 0);
    return this.#db.transaction(() => {
      const removed: DeploymentKey[] = [];
      for (const k of this.keys()) {
        const pending = this.#db.sql.prepare('SELECT 1 FROM jobs WHERE twin = ? AND contract = ? LIMIT 1').get(k.twin, k.contract);
        if (pending) continue;
        const wls = this.#workloads(k.twin, k.contract);
        if (wls.some((w) => holdsResources(w.result.state))) continue;
        if (o.idleSec !== undefined && this.#lastChange(k) > cutoff) continue;
        this.delete(k.twin, k.contract);
        removed.push(k);
      }
      return removed;
    });
  }

  /** Unix seconds of the newest state of any workload of the deployment (0: none). */
  #lastChange(k: DeploymentKey): number {
    const row = this.#db.sql
      .prepare(`SELECT MAX(json_extract(workload, '$.result.created')) AS last FROM transactions WHERE twin = ? AND contract = ?`)
      .get(k.twin, k.contract) as { last: number | null };
    return row.last ?? 0;
  }

  /**
   * Σ capacity of the workloads holding resources (ok/paused): of the whole node (what zos reports
   * as used, before the system reserve) or only of deployment `of`; `except` names one workload
   * left out (the one being admitted, so it does not count against itself).
   */
  usedCapacity(o: { of?: DeploymentKey; except?: DeploymentKey & { name: string } } = {}): Capacity {
    let total = zeroCapacity();
    for (const k of o.of ? [o.of] : this.keys()) {
      if (!this.has(k.twin, k.contract)) continue;
      for (const wl of this.get(k.twin, k.contract).workloads) {
        const excepted = o.except?.twin === k.twin && o.except.contract === k.contract && o.except.name === wl.name;
        if (!holdsResources(wl.result.state) || excepted) continue;
        try {
          total = addCapacity(total, modelOf(wl.type)!.capacity(parseWorkloadData(wl)));
        } catch (e) {
          if (!(e instanceof ZosError)) throw e; // undecodable stored data counts as nothing
        }
      }
    }
    return total;
  }
}
