// `npm test`'s runner: every test/**/*.test.ts with node:test, in two lanes that run side by side,
// each one file at a time, then the files that must run alone. The side lane holds the OS boots:
// QEMU under TCG keeps one core busy for 5-7 min while the host side waits, so on a 2-core machine
// the main lane keeps the other core. Its files are scoped to their own data directories, ports and
// (QEMU user networking) no namespace, so the lanes do not see each other. The chaos storm runs
// alone after both lanes. Its own failures beside the main lane were native/spawn.c aborting its
// node (fixed in d6101d2); it then passed there in 4 of 4 CI runs (2026-12-02), but two of those
// runs failed in main-lane tests that ran beside it (gateway/proxy: a port still bound;
// network/official-network: 1 ping of 40 lost), so it stays alone: ~2.5 min more per run. The
// main lane reports live; the side lane's report is kept and printed when the main lane is done,
// so the log is never interleaved; the exit code is non-zero when any part failed. `tsc --noEmit`
// runs beside the side lane, before the main one. Plain JavaScript: it starts the runs that load
// tsx.
// Usage: node test/helpers/lanes.mjs [--no-tsc] [--side FILE,FILE] [--alone FILE,FILE] [DIR]
// (defaults: tsc, the lists below, test/; files are named relative to the working directory)
// @ts-check
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

/** The side lane (see above for why it may run beside the rest). */
const SIDE_LANE = ['test/os/boot.test.ts'];
/** Run after both lanes, with nothing beside them. */
const ALONE = ['test/chaos/storm.test.ts'];
const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { 'no-tsc': { type: 'boolean' }, side: { type: 'string' }, alone: { type: 'string' } } });

/** @param {string} dir @returns {string[]} */
function testFiles(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => relative(process.cwd(), join(dir, f)))
    .sort();
}

const NODE_TEST = ['--import', import.meta.resolve('tsx'), '--test', '--test-concurrency=1', '--test-timeout=1200000', `--test-reporter=${join(import.meta.dirname, 'file-times.mjs')}`, '--test-reporter-destination=stdout'];

/**
 * @param {string} cmd @param {string[]} args @param {boolean} live
 * @returns {{ done: Promise<{ code: number, ms: number, out: string }>, kill(): void }}
 */
function run(cmd, args, live) {
  const started = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', live ? 'inherit' : 'pipe', live ? 'inherit' : 'pipe'] });
  /** @type {Buffer[]} */
  const out = [];
  child.stdout?.on('data', (d) => out.push(d));
  child.stderr?.on('data', (d) => out.push(d));
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), ms: Date.now() - started, out: Buffer.concat(out).toString() }));
  });
  return { done, kill: () => void child.kill('SIGTERM') };
}

const all = testFiles(positionals[0] ?? 'test');
const side = (opts.side?.split(',') ?? SIDE_LANE).filter((f) => all.includes(f));
const alone = (opts.alone?.split(',') ?? ALONE).filter((f) => all.includes(f) && !side.includes(f));
const main = all.filter((f) => !side.includes(f) && !alone.includes(f));
const lane2 = side.length > 0 ? run(process.execPath, [...NODE_TEST, ...side], false) : null;
const typed = opts['no-tsc'] ? { code: 0 } : await run(process.execPath, [join(import.meta.dirname, '../../node_modules/typescript/bin/tsc'), '--noEmit'], true).done;
if (typed.code !== 0) {
  lane2?.kill();
  await lane2?.done;
  process.stdout.write(`# tsc --noEmit failed (exit ${typed.code}): no tests run\n`);
  process.exit(typed.code);
}
const lane1 = await run(process.execPath, [...NODE_TEST, ...main], true).done;
const r2 = lane2 ? await lane2.done : null;
if (r2) process.stdout.write(`\n# side lane (ran beside the one above): ${side.join(' ')}\n${r2.out}`);
if (alone.length > 0) process.stdout.write(`\n# alone, after both lanes: ${alone.join(' ')}\n`);
const r3 = alone.length > 0 ? await run(process.execPath, [...NODE_TEST, ...alone], true).done : null;
const secs = (/** @type {{ ms: number }} */ r) => `${(r.ms / 1000).toFixed(1)} s`;
process.stdout.write(`# lanes: ${main.length} files ${secs(lane1)} exit ${lane1.code}${r2 ? `; side lane ${side.length} files ${secs(r2)} exit ${r2.code}` : ''}${r3 ? `; alone ${alone.length} files ${secs(r3)} exit ${r3.code}` : ''}\n`);
process.exit(lane1.code || (r2?.code ?? 0) || (r3?.code ?? 0));
