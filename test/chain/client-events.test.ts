import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../lib/backoff.ts';
import { silentLogger } from '../../lib/log.ts';
import { ChainError, mapRpcError } from '../../chain/client/errors.ts';
import { decodeNodeEvent, EventStream, followBlocks, type BlockEvents, type BlockSource, type NodeEvent } from '../../chain/client/events.ts';
import { ALICE_HEX, ALICE_SS58 } from './client-fixtures.ts';

const decodeCases: Array<{ name: string; section: string; method: string; data: unknown[]; want: NodeEvent | null }> = [
  {
    name: 'NodeContractCanceled',
    section: 'smartContractModule',
    method: 'NodeContractCanceled',
    data: [12, 3, 4],
    want: { kind: 'NodeContractCanceled', contractId: 12, nodeId: 3, twinId: 4 },
  },
  { name: 'NameContractCanceled', section: 'smartContractModule', method: 'NameContractCanceled', data: [7], want: { kind: 'NameContractCanceled', contractId: 7 } },
  {
    name: 'ContractGracePeriodStarted',
    section: 'smartContractModule',
    method: 'ContractGracePeriodStarted',
    data: [12, 3, 4, 99],
    want: { kind: 'ContractGracePeriodStarted', contractId: 12, nodeId: 3, twinId: 4, blockNumber: 99 },
  },
  {
    name: 'ContractGracePeriodEnded',
    section: 'smartContractModule',
    method: 'ContractGracePeriodEnded',
    data: [12, 3, 4],
    want: { kind: 'ContractGracePeriodEnded', contractId: 12, nodeId: 3, twinId: 4 },
  },
  {
    name: 'PowerTargetChanged',
    section: 'tfgridModule',
    method: 'PowerTargetChanged',
    data: [1, 3, 'Down'],
    want: { kind: 'PowerTargetChanged', farmId: 1, nodeId: 3, target: 'Down' },
  },
  {
    name: 'NodePublicConfigStored (removed)',
    section: 'tfgridModule',
    method: 'NodePublicConfigStored',
    data: [3, null],
    want: { kind: 'NodePublicConfigStored', nodeId: 3, config: null },
  },
  {
    name: 'NodePublicConfigStored (set)',
    section: 'tfgridModule',
    method: 'NodePublicConfigStored',
    data: [3, { ip4: { ip: '0x312e322e332e342f3234', gw: '0x312e322e332e31' }, ip6: null, domain: null }],
    want: { kind: 'NodePublicConfigStored', nodeId: 3, config: { ip4: { ip: '1.2.3.4/24', gw: '1.2.3.1' }, ip6: null, domain: null } },
  },
  {
    name: 'TwinUpdated',
    section: 'tfgridModule',
    method: 'TwinUpdated',
    data: [{ id: 4, accountId: ALICE_SS58, relay: '0x722e6772696421', entities: [], pk: null }],
    want: { kind: 'TwinUpdated', twin: { id: 4, accountId: Buffer.from(ALICE_HEX.slice(2), 'hex'), relay: 'r.grid!', entities: [], pk: null } },
  },
  { name: 'an event we do not follow', section: 'balances', method: 'Transfer', data: [ALICE_SS58, ALICE_SS58, 1], want: null },
  { name: 'a same-named event of another pallet', section: 'tfgridModule', method: 'NodeContractCanceled', data: [1, 2, 3], want: null },
];
for (const tc of decodeCases) {
  test(`events: decodes ${tc.name}`, () => {
    const got = decodeNodeEvent({ section: tc.section, method: tc.method, data: tc.data });
    if (got?.kind === 'TwinUpdated' && tc.want?.kind === 'TwinUpdated') {
      assert.deepEqual({ ...got.twin, accountId: [...got.twin.accountId] }, { ...tc.want.twin, accountId: [...tc.want.twin.accountId] });
    } else {
      assert.deepEqual(got, tc.want);
    }
  });
}

test('events: a malformed followed event is a typed decode error', () => {
  assert.throws(
    () => decodeNodeEvent({ section: 'smartContractModule', method: 'NodeContractCanceled', data: [1] }),
    (e: unknown) => e instanceof ChainError && e.code === 'ERR_DECODE',
  );
});

/** A chain as a table of blocks; each source() is one "connection" that can be killed. */
class FakeChain {
  head: number;
  private watchers = new Set<{ onHead: (n: number) => void; onError: (e: Error) => void }>();
  fetched: number[] = [];
  /** Kill the current connection when this block is fetched. */
  failAt: number | null = null;
  /** Blocks below this number have no state any more (pruned, or a restored devnet). */
  goneBelow = 0;
  connections = 0;
  /** Called once a stream watches heads (to finalize deterministically after subscription). */
  onWatch: (() => void) | null = null;
  private dead = false;

  constructor(head: number) {
    this.head = head;
  }

  block(n: number): BlockEvents {
    return { blockNumber: n, blockHash: `0x${n.toString(16).padStart(64, '0')}`, events: [{ kind: 'NodeContractCanceled', contractId: n, nodeId: 1, twinId: 1 }] };
  }

  finalize(n: number): void {
    this.head = n;
    for (const w of this.watchers) w.onHead(n);
  }

  kill(): void {
    this.dead = true;
    for (const w of this.watchers) w.onError(new ChainError('ERR_DISCONNECTED', 'killed'));
    this.watchers.clear();
  }

  source(): BlockSource {
    this.connections++;
    this.dead = false;
    const alive = () => {
      if (this.dead) throw new ChainError('ERR_DISCONNECTED', 'dead');
    };
    return {
      finalizedHead: async () => (alive(), this.head),
      blockEvents: async (n) => {
        alive();
        if (n > this.head) throw new Error(`block ${n} is not finalized (head ${this.head})`);
        if (n < this.goneBelow) throw new ChainError('ERR_STATE_GONE', `block ${n}: State already discarded`);
        if (this.failAt === n) {
          this.failAt = null;
          this.kill();
          alive();
        }
        this.fetched.push(n);
        return this.block(n);
      },
      watchFinalized: async (onHead, onError) => {
        alive();
        const w = { onHead, onError };
        this.watchers.add(w);
        if (this.onWatch) setImmediate(this.onWatch);
        return () => this.watchers.delete(w);
      },
    };
  }
}

const fastBackoff = () => new Backoff({ initialMs: 1, maxMs: 5 });

test('events: followBlocks replays the backlog, then fills heads that skip numbers', async () => {
  const chain = new FakeChain(5);
  const ac = new AbortController();
  const seen: number[] = [];
  for await (const b of followBlocks(chain.source(), 2, ac.signal)) {
    seen.push(b.blockNumber);
    if (b.blockNumber === 5) setImmediate(() => chain.finalize(8));
    if (b.blockNumber === 8) break;
  }
  assert.deepEqual(seen, [3, 4, 5, 6, 7, 8]);
});

test('events: stream survives a dropped connection without losing or repeating blocks', async () => {
  const chain = new FakeChain(6);
  chain.failAt = 4;
  const stream = new EventStream({ source: async () => chain.source(), after: 1, logger: silentLogger(), backoff: fastBackoff() });
  const seen: number[] = [];
  for await (const b of stream) {
    seen.push(b.blockNumber);
    assert.equal((b.events[0] as { contractId: number }).contractId, b.blockNumber);
    if (b.blockNumber === 6) setImmediate(() => chain.finalize(7));
    if (b.blockNumber === 7) {
      chain.kill(); // while the consumer holds block 7
      setTimeout(() => chain.finalize(9), 20);
    }
    if (b.blockNumber === 9) break;
  }
  assert.deepEqual(seen, [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(chain.connections >= 3, `expected reconnects, got ${chain.connections} connections`);
  await stream.close();
});

test('events: a block whose state is gone is not retried: the stream jumps to the head and marks the gap as missed', async () => {
  const chain = new FakeChain(10);
  chain.goneBelow = 8;
  const stream = new EventStream({ source: async () => chain.source(), after: 1, logger: silentLogger(), backoff: fastBackoff() });
  const seen: BlockEvents[] = [];
  const timer = setTimeout(() => void stream.close(), 2_000); // on main this retried block 2 forever
  for await (const b of stream) {
    seen.push(b);
    if (b.blockNumber === 10) setImmediate(() => chain.finalize(11));
    if (b.blockNumber === 11) break;
  }
  clearTimeout(timer);
  assert.deepEqual(seen.map((b) => [b.blockNumber, b.missed]), [[10, { from: 2, to: 9 }], [11, undefined]]);
  assert.deepEqual(chain.fetched, [10, 11], 'no block was asked for twice');
  await stream.close();
});

test('events: mapRpcError names a discarded state ERR_STATE_GONE (not retriable)', () => {
  const e = mapRpcError(new Error('4003: Client error: UnknownBlock: State already discarded for 0xabc'), 'events of block 2');
  assert.equal(e.code, 'ERR_STATE_GONE');
  assert.equal(e.retriable, false);
});

test('events: a restarted stream resumes after the saved block number', async () => {
  const chain = new FakeChain(10);
  let saved = 0;
  const first = new EventStream({ source: async () => chain.source(), after: saved, logger: silentLogger(), backoff: fastBackoff() });
  for await (const b of first) {
    if (b.blockNumber === 5) break; // crash while handling block 5: it is not saved
    saved = b.blockNumber;
  }
  assert.equal(saved, 4);
  assert.equal(first.lastProcessed, 4, 'the block being handled at the break is not counted as processed');
  const second = new EventStream({ source: async () => chain.source(), after: saved, logger: silentLogger(), backoff: fastBackoff() });
  const seen: number[] = [];
  for await (const b of second) {
    seen.push(b.blockNumber);
    if (b.blockNumber === 10) break;
  }
  assert.deepEqual(seen, [5, 6, 7, 8, 9, 10]);
});

test('events: a second loop over the same stream resumes with the block that was being handled', async () => {
  const chain = new FakeChain(6);
  const stream = new EventStream({ source: async () => chain.source(), after: 0, logger: silentLogger(), backoff: fastBackoff() });
  const seen: number[] = [];
  for await (const b of stream) {
    seen.push(b.blockNumber);
    if (b.blockNumber === 3) break;
  }
  for await (const b of stream) {
    seen.push(b.blockNumber);
    if (b.blockNumber === 6) break;
  }
  assert.deepEqual(seen, [1, 2, 3, 3, 4, 5, 6]);
  await stream.close();
});

test('events: two concurrent consumers of one stream are refused', async () => {
  const chain = new FakeChain(6);
  const stream = new EventStream({ source: async () => chain.source(), after: 0, logger: silentLogger(), backoff: fastBackoff() });
  const first = stream[Symbol.asyncIterator]();
  await first.next();
  await assert.rejects(stream[Symbol.asyncIterator]().next(), (e: unknown) => e instanceof ChainError && e.code === 'ERR_BAD_INPUT');
  await first.return(undefined);
  await stream.close();
});

test("events: after 'head' skips the backlog and follows new blocks", async () => {
  const chain = new FakeChain(50);
  const stream = new EventStream({ source: async () => chain.source(), after: 'head', logger: silentLogger(), backoff: fastBackoff() });
  chain.onWatch = () => chain.finalize(52);
  const seen: number[] = [];
  for await (const b of stream) {
    seen.push(b.blockNumber);
    if (b.blockNumber === 52) break;
  }
  assert.deepEqual(seen, [51, 52]);
  assert.deepEqual(chain.fetched, [51, 52]);
});

test('events: close() ends an idle stream', async () => {
  const chain = new FakeChain(3);
  const stream = new EventStream({ source: async () => chain.source(), after: 3, logger: silentLogger(), backoff: fastBackoff() });
  setTimeout(() => void stream.close(), 10);
  const seen: number[] = [];
  for await (const b of stream) seen.push(b.blockNumber);
  assert.deepEqual(seen, []);
});
