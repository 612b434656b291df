import { z } from 'zod';
import { goString, goStruct } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

const LOG_SCHEMES = ['redis', 'ws', 'wss'];

export const zlogsSchema = goStruct({ zmachine: goString(), output: goString() });
export type ZLogs = z.infer<typeof zlogsSchema>;

/** Scheme of a URL as Go's url.Parse sees it ("" when there is none). */
function urlScheme(s: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
  return m ? m[1]!.toLowerCase() : '';
}

/** Streams a zmachine's console to `output`. */
export const zlogs: WorkloadModel<ZLogs> = {
  type: 'zlogs',
  schema: zlogsSchema,
  challenge: (d) => `${d.zmachine}${d.output}`,
  capacity: () => zeroCapacity(),
  validate: (d, ctx) => {
    if (ctx.get(d.zmachine)?.type !== 'zmachine') return `no zmachine with name '${d.zmachine}' found`;
    const scheme = urlScheme(d.output);
    if (!LOG_SCHEMES.includes(scheme)) return `invalid output schema '${scheme}' not supported`;
    return undefined;
  },
  updatable: false,
  pausable: false,
  sharable: false,
};
