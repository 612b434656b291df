import { availableParallelism } from 'node:os';
import { BroadcastChannel } from 'node:worker_threads';

/**
 * One list of items worked through by a pool's workers, one per core (image build stores files,
 * materialize and verify write or check them). Every worker gets the whole list, largest first (no
 * large item is left for one worker at the end), and takes the next item from a shared cursor
 * (Atomics) as it finishes one: no round trip to the main thread between items (a worker waiting
 * for the main thread's turn idled, under load for tens of ms), and the workers finish within one
 * item of each other. The first failure stops the others before their next item.
 *
 * The one way back to the main thread: each worker posts its items' results on a BroadcastChannel
 * a few at a time (a message per small item would cost more than the item), which the main thread
 * takes while the workers run (a manifest fills in, progress and writeback kicks follow).
 *
 * The main thread calls runSharedList with workers (a lib/workers pool, or a view of one) whose
 * module's `work` calls takeEach.
 */
export interface SharedListJob {
  /** The items (a JSON array), largest first: one string, copied to each worker as is where a structured clone walks every object once per worker. */
  list: string;
  /** Int32Array over it: [CURSOR] the next item to take, [STOP] set once an item failed. */
  shared: SharedArrayBuffer;
  /** The BroadcastChannel the results go out on (see Posted). */
  channel: string;
}

/** What a worker's job returns once the list is done or stopped. */
export interface SharedListOutcome<F> {
  /** Results it posted (the main thread waits until it has them all: the last can come after this). */
  posted: number;
  /** Its failure, if it had one: the items it took before are done. */
  failed?: F & { index: number };
}

/** A message on the channel: the items' places in the list and their results, in the order they finished. */
type Posted<R> = [indexes: number[], results: R[]];

const CURSOR = 0;
const STOP = 1;

/** Results are posted once this much weight (bytes) or this many items are done since the last post. */
const POST_WEIGHT = 1 << 20;
const POST_ITEMS = 64;

let channels = 0;

/** What runSharedList needs of a worker pool: a job run on one of its threads. */
export interface SharedListWorkers<J, F> {
  run(job: J & SharedListJob): Promise<SharedListOutcome<F>>;
}

/**
 * Runs `items` on every core of `pool` (its module's `work` calls takeEach with the job): `job`'s
 * fields and the list, each item as `toWorker` gives it. `on.result` runs for each item finished
 * (in the order they finished, soon after), `on.batch` after each message. Returns the first
 * worker failure in list order (the caller makes its error), once every worker has stopped and
 * every result has come in; an error thrown by `on.result` stops the workers and is thrown instead,
 * as is a worker's death (its job rejected).
 */
export async function runSharedList<I extends { size: number }, J, R, F>(
  pool: SharedListWorkers<J, F>,
  items: readonly I[],
  job: J,
  toWorker: (item: I) => unknown,
  on: { result(item: I, r: R): void; batch?(): void },
): Promise<{ item: I; failure: F } | undefined> {
  if (items.length === 0) return undefined;
  const list = [...items].sort((a, b) => b.size - a.size);
  const shared = new SharedArrayBuffer(8);
  const stop = () => stopAll(shared);
  // Unique in this process (a BroadcastChannel reaches only its own process's threads).
  const name = `zos-shared-list-${process.pid}-${++channels}-${Math.random().toString(36).slice(2)}`;
  const channel = new BroadcastChannel(name);
  let thrown: { err: unknown } | undefined;
  let received = 0;
  let expected = Infinity;
  let allIn!: () => void;
  const arrived = new Promise<void>((resolve) => (allIn = resolve));
  channel.onmessage = (ev) => {
    const [indexes, results] = (ev as { data: Posted<R> }).data;
    received += indexes.length;
    for (let i = 0; i < indexes.length && !thrown; i++) {
      try {
        on.result(list[indexes[i]!]!, results[i]!);
      } catch (err) {
        thrown = { err };
        stop();
      }
    }
    if (!thrown) on.batch?.();
    if (received >= expected) allIn();
  };
  try {
    const full = { ...job, list: JSON.stringify(list.map(toWorker)), shared, channel: name };
    const run = () =>
      pool.run(full).catch((err: unknown) => {
        stop(); // a worker that died: the others stop too
        throw err;
      });
    const outcomes = await Promise.all(Array.from({ length: availableParallelism() }, run));
    expected = outcomes.reduce((n, o) => n + o.posted, 0);
    if (received >= expected) allIn();
    await arrived;
    if (thrown) throw thrown.err;
    const failed = outcomes.flatMap((o) => (o.failed ? [o.failed] : [])).sort((a, b) => a.index - b.index)[0];
    return failed ? { item: list[failed.index]!, failure: failed } : undefined;
  } finally {
    channel.close();
  }
}

/** Stops every worker on the list before its next item. */
export function stopAll(shared: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(shared), STOP, 1);
}

/**
 * A worker's side: takes the list's next item until none is left or the list is stopped, and
 * posts what `each` returns; an error it throws stops every worker, and `failure` makes this
 * worker's outcome of it. `weight` (bytes) spaces the posts.
 */
export function takeEach<T, R, F>(
  job: SharedListJob,
  each: (item: T, index: number) => R,
  failure: (err: unknown) => F,
  weight: (item: T) => number = () => 0,
): SharedListOutcome<F> {
  const items = JSON.parse(job.list) as T[];
  const shared = new Int32Array(job.shared);
  const channel = new BroadcastChannel(job.channel);
  let indexes: number[] = [];
  let results: R[] = [];
  let load = 0;
  let posted = 0;
  const post = () => {
    if (indexes.length === 0) return;
    channel.postMessage([indexes, results] satisfies Posted<R>);
    posted += indexes.length;
    indexes = [];
    results = [];
    load = 0;
  };
  try {
    while (Atomics.load(shared, STOP) === 0) {
      const index = Atomics.add(shared, CURSOR, 1);
      if (index >= items.length) break;
      const item = items[index]!;
      let r: R;
      try {
        r = each(item, index);
      } catch (err) {
        Atomics.store(shared, STOP, 1);
        post();
        return { posted, failed: { ...failure(err), index } };
      }
      indexes.push(index);
      results.push(r);
      load += weight(item);
      if (load >= POST_WEIGHT || indexes.length >= POST_ITEMS) post();
    }
    post();
    return { posted };
  } finally {
    channel.close(); // what was posted is still delivered
  }
}
