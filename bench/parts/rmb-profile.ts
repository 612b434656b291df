/**
 * Where one RMB round trip at one in flight spends its CPU, by function (no goal: a diagnostic
 * for bench/relay.ts' p50 ratio). A child process runs bench/relay.ts' setup (rmb-pair.ts) and
 * sequential round trips, or the crypto floor's operations back to back (crypto-floor.ts
 * floorRoundTrip); `perf record` samples it for a few seconds (V8's --perf-basic-prof names the
 * JIT's functions), and the child counts the round trips of that window. Each sample's leaf is
 * put in a class (crypto: the sr25519 wasm, libsodium, OpenSSL's MD5/AES/GHASH; kernel; the rest)
 * and the rest is also listed by the nearest function of ours on the stack and by the leaf, in
 * µs per round trip, beside the floor's. Then the child counts GCs (a 'gc' PerformanceObserver
 * cost ~10 µs a round trip, so not during the perf window) and, with V8's sampling heap
 * profiler, the bytes each function allocates per round trip (objects a scavenge already freed
 * included). The sampling profiler of V8's inspector was tried first: at a 10-50 µs interval it
 * slowed a round trip 1.5-2x and named native functions wrongly; perf costs ~2%.
 * Figures are means per round trip (GC and scheduling included), not p50s: read them as shares.
 * Needs `perf` (linux-perf) and the right to trace a child (root); skips the CPU part without.
 * Usage: node --import tsx bench/parts/rmb-profile.ts [seconds per window, default 6] [top, default 25]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { floorRoundTrip } from './crypto-floor.ts';
import { PAYLOAD, startRmbPair } from './rmb-pair.ts';

type Mode = 'rmb' | 'floor';
const SAMPLE_HZ = 4_000;

/** The child: round trips (or floors) until told to stop, counting those between SIGUSR1 and SIGUSR2. */
async function child(mode: Mode): Promise<void> {
  const pair = await startRmbPair();
  const floorOnce = floorRoundTrip(pair.a, pair.b, Buffer.from(JSON.stringify(PAYLOAD)));
  let done = 0;
  // The floor never waits for I/O: it yields every 100 so that signals get through.
  const once = mode === 'rmb' ? pair.rpc : async () => (floorOnce(), done % 100 === 0 && (await new Promise((r) => setImmediate(r))));
  for (let i = 0; i < 1_000; i++) await pair.rpc();
  for (let i = 0; i < 1_000; i++) floorOnce();
  const span = { mark: 0, stop: false };
  process.on('SIGUSR1', () => (span.mark = done));
  process.on('SIGUSR2', () => (span.stop = true));
  console.log('ready');
  while (!span.stop) {
    await once();
    done++;
  }
  const n = done - span.mark;
  // GCs are counted after the perf window: a 'gc' observer costs ~10 µs a round trip itself.
  const gcs: number[] = [];
  const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => gcs.push((e as unknown as { detail: { kind: number } }).detail.kind)));
  obs.observe({ entryTypes: ['gc'] });
  const gcN = 5_000;
  for (let i = 0; i < gcN; i++, done++) await once();
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  // PerformanceGC kinds: 1 minor (scavenge), 2 major (mark-compact); per round trip of the window's count.
  const per = (k: number) => (gcs.filter((g) => g === k).length * n) / gcN;
  console.log(JSON.stringify({ n, scavenges: per(1), markCompacts: per(2) }));
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.enable');
  await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const heapN = 2_000;
  for (let i = 0; i < heapN; i++) await once();
  const { profile } = (await s.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode } };
  const bytes = new Map<string, number>();
  const walk = (x: HeapNode) => {
    const k = `${x.callFrame.functionName || '(anonymous)'} ${short(x.callFrame.url)}`;
    if (x.selfSize) bytes.set(k, (bytes.get(k) ?? 0) + x.selfSize / heapN);
    x.children.forEach(walk);
  };
  walk(profile.head);
  console.log(JSON.stringify([...bytes].sort((a, b) => b[1] - a[1])));
  await Promise.all([pair.pa.close(), pair.pb.close()]);
  await pair.relay.close();
}

interface HeapNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapNode[];
}

const short = (s: string) => s.replace(/file:\/\/\S*?\/(?=(rmb|relay|relay-client|bench|lib|node_modules)\/)/g, '').replace(/\S*\/node_modules\//g, '');

interface Window {
  n: number;
  scavenges: number;
  markCompacts: number;
  /** µs per round trip: by class, by our nearest function (non-crypto only), by leaf (non-crypto only). */
  classes: Map<string, number>;
  ours: Map<string, number>;
  leaves: Map<string, number>;
  alloc: [string, number][];
}

const CRYPTO = /wasm-function|sr25519|md5_block|aes|gcm_|ghash|sha512|SHA512|crypto_sign|ge25519|fe25519|sc25519/;

/** Parses `perf script -F ip,sym,dso` (a sample: its frames, leaf first, then a blank line). */
function attribute(text: string, n: number): Pick<Window, 'classes' | 'ours' | 'leaves'> {
  const us = 1e6 / SAMPLE_HZ / n;
  const classes = new Map<string, number>();
  const ours = new Map<string, number>();
  const leaves = new Map<string, number>();
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + us);
  for (const sample of text.split(/\n\s*\n/)) {
    const frames = sample
      .split('\n')
      .map((l) => /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ sym: m[1]!, dso: m[2]! }));
    const leaf = frames[0];
    if (!leaf) continue;
    if (CRYPTO.test(leaf.sym) || /sodium/.test(leaf.dso)) {
      add(classes, 'crypto (leaf in wasm sr25519, libsodium, OpenSSL)');
      continue;
    }
    add(classes, leaf.dso.includes('kernel') ? 'kernel' : leaf.sym.startsWith('JS:') ? 'JavaScript (JIT code)' : 'V8, Node, libc (native)');
    const own = frames.find((f) => f.sym.startsWith('JS:') && /file:\/\/\S*\/(rmb|relay|relay-client|bench)\//.test(f.sym));
    add(ours, own ? short(own.sym.replace(/^JS:[*~^]?/, '')) : '(no function of ours on the stack)');
    add(leaves, short(leaf.sym.replace(/^JS:[*~^]?/, '')).slice(0, 100));
  }
  return { classes, ours, leaves };
}

async function profileWindow(mode: Mode, seconds: number, perf: boolean, dir: string): Promise<Window> {
  const self = fileURLToPath(import.meta.url);
  const kid = spawn(process.execPath, ['--perf-basic-prof', '--import', 'tsx', self, '--child', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: kid.stdout! })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  if ((await next()) !== 'ready') throw new Error('profile child did not start');
  const data = join(dir, `${mode}.data`);
  kid.kill('SIGUSR1');
  if (perf) spawnSync('perf', ['record', '-q', '-F', String(SAMPLE_HZ), '-g', '-p', String(kid.pid), '-o', data, '--', 'sleep', String(seconds)]);
  else await new Promise((r) => setTimeout(r, seconds * 1000));
  kid.kill('SIGUSR2');
  const counts = JSON.parse(await next()) as { n: number; scavenges: number; markCompacts: number };
  const alloc = JSON.parse(await next()) as [string, number][];
  await new Promise((r) => kid.once('exit', r));
  const text = perf ? execFileSync('perf', ['script', '-i', data, '-F', 'ip,sym,dso'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString() : '';
  rmSync(`/tmp/perf-${kid.pid}.map`, { force: true });
  return { ...counts, ...attribute(text, counts.n), alloc };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 6);
  const top = Number(process.argv[3] ?? 25);
  const perf = spawnSync('perf', ['--version']).status === 0;
  if (!perf) console.log('perf not found (apt-get install linux-perf): GCs and allocations only');
  const dir = mkdtempSync(join(tmpdir(), 'rmb-profile-'));
  try {
    const rmb = await profileWindow('rmb', seconds, perf, dir);
    const floor = await profileWindow('floor', seconds, perf, dir);
    const f = (x: number | undefined) => (x ?? 0).toFixed(1).padStart(7);
    const total = (w: Window) => [...w.classes.values()].reduce((a, b) => a + b, 0);
    console.log(`${rmb.n} round trips and ${floor.n} floors in ${seconds} s windows; CPU µs per round trip: round trip, floor`);
    for (const k of new Set([...rmb.classes.keys(), ...floor.classes.keys()])) console.log(`${f(rmb.classes.get(k))} ${f(floor.classes.get(k))}  ${k}`);
    console.log(`${f(total(rmb))} ${f(total(floor))}  all`);
    const list = (title: string, m: Map<string, number>, other: Map<string, number>) => {
      console.log(`${title}; top ${top} (round trip, floor)`);
      for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${f(v)} ${f(other.get(k))}  ${k}`);
    };
    list('outside crypto, by the nearest function of ours on the stack', rmb.ours, floor.ours);
    list('outside crypto, by leaf', rmb.leaves, floor.leaves);
    for (const w of [rmb, floor]) {
      const bytes = w.alloc.reduce((t, [, b]) => t + b, 0);
      console.log(`${w === rmb ? 'round trip' : 'floor'}: ${((1000 * w.scavenges) / w.n).toFixed(1)} scavenges, ${((1000 * w.markCompacts) / w.n).toFixed(2)} mark-compacts per 1000; ${bytes.toFixed(0)} B allocated each`);
    }
    console.log(`bytes allocated per round trip, by function; top ${top}`);
    for (const [k, v] of rmb.alloc.slice(0, top)) console.log(`${v.toFixed(0).padStart(7)}  ${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--child');
if (at > 0) await child(process.argv[at + 1] as Mode);
else await main();
