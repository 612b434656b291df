// The test runner's reporter for `npm test`: node's own (spec on a terminal, TAP otherwise, as
// node picks when no reporter is named) plus each file's wall time, because node 20 reports only
// tests, and CI must show where its 30 minutes go. A line `# file 12.3 s test/x.test.ts` follows
// each file; the slowest files, and every failed test with its file and first error line, are
// listed before node's summary, so the closing line, and the exit code, stay node's, and the tail
// of a long CI log names what failed. Plain JavaScript: node loads reporters before `--import tsx`
// applies.
// @ts-check
import { relative } from 'node:path';
import { spec, tap } from 'node:test/reporters';

const SLOWEST = 15;

/** @param {AsyncIterable<import('node:test/reporters').TestEvent>} source */
export default async function* fileTimes(source) {
  /** @type {Array<{ file: string, ms: number }>} */
  const times = [];
  /** @type {string[]} */
  const failed = [];
  const failedFiles = new Set();
  let pending = '';
  /** @param {number} ms @param {string} file */
  const line = (ms, file) => `# file ${(ms / 1000).toFixed(1).padStart(6)} s ${file}\n`;
  /** Passes the events on; a file's time and the table are queued as text for the output loop. */
  async function* observed() {
    let summarized = false;
    for await (const event of source) {
      /** @type {{ name?: string, file?: string, nesting?: number, details?: { duration_ms?: number } }} */
      const data = event.data;
      // Each file is one hidden test named by its path: its completion carries the file's wall time.
      if (event.type === 'test:complete' && data.file !== undefined && data.name === data.file) {
        const file = relative(process.cwd(), data.file);
        const ms = data.details?.duration_ms ?? 0;
        times.push({ file, ms });
        pending += line(ms, file);
      }
      // Each failed test, named with its file; a file's own failure only where none of its tests
      // failed (it crashed outside them), since otherwise it just repeats theirs.
      if (event.type === 'test:fail' && data.file !== undefined) {
        const file = relative(process.cwd(), data.file);
        const error = /** @type {{ error?: { cause?: unknown, message?: string } }} */ (data.details ?? {}).error;
        const cause = error?.cause instanceof Error ? error.cause.message : String(error?.cause ?? error?.message ?? '');
        if (data.name !== data.file) {
          failedFiles.add(file);
          failed.push(`# not ok: ${data.name} (${file}): ${cause.split('\n')[0]}\n`);
        } else if (!failedFiles.has(file)) failed.push(`# not ok: ${file}: ${cause.split('\n')[0]}\n`);
      }
      // The root's plan comes right before node's summary diagnostics.
      if (event.type === 'test:plan' && data.file === undefined && data.nesting === 0 && !summarized && times.length > 1) {
        summarized = true;
        const total = times.reduce((s, t) => s + t.ms, 0);
        const slow = [...times].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST);
        pending += `# slowest ${slow.length} of ${times.length} files (${(total / 60_000).toFixed(1)} min in files):\n${slow.map((t) => line(t.ms, t.file)).join('')}`;
        if (failed.length > 0) pending += `# ${failed.length} failed:\n${failed.join('')}`;
      }
      yield event;
    }
  }
  const flush = function* () {
    if (pending) yield pending;
    pending = '';
  };
  if (process.stdout.isTTY) {
    // spec is a Transform that formats each event synchronously as it is written.
    const formatter = new spec();
    for await (const event of observed()) {
      formatter.write(event);
      let chunk;
      while ((chunk = formatter.read()) !== null) {
        yield* flush();
        yield chunk;
      }
    }
    yield* flush();
    formatter.end();
    for await (const chunk of formatter) yield chunk;
    return;
  }
  // tap pulls one event at a time and yields that event's text before pulling the next: text
  // queued while an event was pulled goes out before that event's own output.
  for await (const chunk of tap(observed())) {
    yield* flush();
    yield chunk;
  }
  yield* flush();
}
