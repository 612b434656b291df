// Test-only fault injection (etcd's gofail, FreeBSD's fail points): named points in the code that
// do nothing unless ZOS_FAILPOINTS names them. Crash tests use them to land a kill -9 inside a
// primitive, between two host commands, where a timed kill from outside would only hit by luck.
//
//   ZOS_FAILPOINTS="storage.subvolume.created=sleep(5000);storage.disk.resize=crash"
//
// Actions: sleep(ms) waits (the test kills the process meanwhile), crash exits at once with
// SIGKILL, error(text) throws. Each hit is written to stderr as one JSON line
// ({"failpoint":NAME,"action":...}) before acting, so a test can wait for it in the node's log.

type Action = { kind: 'sleep'; ms: number } | { kind: 'crash' } | { kind: 'error'; text: string };

function parse(spec: string): Map<string, Action> {
  const out = new Map<string, Action>();
  for (const item of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([\w.-]+)=(sleep\((\d+)\)|crash|error\((.*)\))$/.exec(item);
    if (!m) throw new Error(`ZOS_FAILPOINTS: cannot parse '${item}' (want NAME=sleep(MS)|crash|error(TEXT))`);
    const [, name, , ms, text] = m;
    out.set(name!, ms !== undefined ? { kind: 'sleep', ms: Number(ms) } : text !== undefined ? { kind: 'error', text } : { kind: 'crash' });
  }
  return out;
}

let points: Map<string, Action> | undefined;

/** Set the points in-process (tests); `undefined` reads ZOS_FAILPOINTS again. */
export function setFailpoints(spec: string | undefined): void {
  points = spec === undefined ? undefined : parse(spec);
}

/** A named fail point: a no-op unless configured. */
export async function failpoint(name: string, signal?: AbortSignal): Promise<void> {
  points ??= parse(process.env.ZOS_FAILPOINTS ?? '');
  const action = points.get(name);
  if (!action) return;
  process.stderr.write(`${JSON.stringify({ failpoint: name, action: action.kind })}\n`);
  if (action.kind === 'crash') process.kill(process.pid, 'SIGKILL');
  if (action.kind === 'error') throw new Error(`failpoint ${name}: ${action.text}`);
  if (action.kind === 'sleep') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, action.ms);
      signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
  }
}
