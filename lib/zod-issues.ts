// The one way a zod error becomes text, for wire errors, CLI messages and config errors alike.
import type { z } from 'zod';

/** `workloads[1].size` from a zod path; '' for the root. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/**
 * One line per issue, `path: message`, with unknown keys named. `prefix` is prepended to every
 * path (an item's place in a list); `root` labels issues that have no path (else the bare message).
 */
export function zodIssues(err: z.ZodError, o: { prefix?: ReadonlyArray<PropertyKey>; root?: string } = {}): string[] {
  return err.issues.map((i) => {
    const message = i.code === 'unrecognized_keys' ? `unknown field ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
    const path = fieldPath([...(o.prefix ?? []), ...i.path]) || o.root;
    return path ? `${path}: ${message}` : message;
  });
}

/** Every issue on one line, joined by "; ". */
export function zodMessage(err: z.ZodError, o: { root?: string } = {}): string {
  return zodIssues(err, o).join('; ');
}
