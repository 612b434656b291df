import { parse, TomlError } from 'smol-toml';

/**
 * The `startup.entry` of an image's /.startup.toml (where zos' flists of converted containers keep
 * the entrypoint and env they were built with), as zos uses it: an entrypoint ('' for none) and env.
 */
export interface StartupEntry {
  entrypoint: string;
  env: Record<string, string>;
}

type Table = Record<string, unknown>;

/** Go's name for what a TOML value decodes to, for zos' "incompatible types" errors. */
function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'bigint' || Number.isInteger(v)) return 'int64';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

function incompatible(key: string, v: unknown, want: string): Error {
  return new Error(`toml: incompatible types: TOML key "${key}" has type ${goType(v)}; destination has type ${want}`);
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A struct field as Go's TOML decoder finds it: its exact name, else a key equal to it ignoring case. */
function field(t: Table, name: string): unknown {
  if (Object.hasOwn(t, name)) return t[name];
  const key = Object.keys(t).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : t[key];
}

function str(t: Table, name: string, at: string): string {
  const v = field(t, name);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw incompatible(`${at}.${name}`, v, 'string');
  return v;
}

/**
 * One `[startup.NAME]` entry decoded as zos' struct {Name; Args {Name; Dir; Args []string; Env
 * map[string]string}}: every entry must decode, even those zos then ignores.
 */
function entryOf(v: unknown, at: string): StartupEntry {
  if (!isTable(v)) throw incompatible(at, v, 'vm.entry');
  const name = str(v, 'name', at);
  const rawArgs = field(v, 'args') ?? {};
  if (!isTable(rawArgs)) throw incompatible(`${at}.args`, rawArgs, 'vm.args');
  const a = `${at}.args`;
  const prog = str(rawArgs, 'name', a);
  str(rawArgs, 'dir', a); // decoded (and so type-checked) by zos, never used for VMs
  const list = field(rawArgs, 'args') ?? [];
  if (!Array.isArray(list)) throw incompatible(`${a}.args`, list, '[]string');
  const args = list.map((x, i) => {
    if (typeof x !== 'string') throw incompatible(`${a}.args[${i}]`, x, 'string');
    return x;
  });
  const rawEnv = field(rawArgs, 'env') ?? {};
  if (!isTable(rawEnv)) throw incompatible(`${a}.env`, rawEnv, 'map[string]string');
  const env: Record<string, string> = {};
  for (const [k, x] of Object.entries(rawEnv)) {
    if (typeof x !== 'string') throw incompatible(`${a}.env.${k}`, x, 'string');
    env[k] = x;
  }
  // zos: only core.system, or core.base naming a program, has an entrypoint; each argument is
  // double-quoted with its `"` escaped (nothing else), and the result split again like a shell.
  const entrypoint = name === 'core.system' || (name === 'core.base' && prog !== '')
    ? prog + args.map((x) => ` "${x.replaceAll('"', '\\"')}"`).join('')
    : '';
  return { entrypoint, env };
}

/** The `startup.entry` of a .startup.toml text, if it has one; a text zos could not decode throws. */
export function parseStartup(text: string): StartupEntry | undefined {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    throw new Error(err instanceof TomlError ? `toml: ${err.message.split('\n')[0]}` : String(err));
  }
  const startup = field(doc, 'startup') ?? {};
  if (!isTable(startup)) throw incompatible('startup', startup, 'map[string]vm.entry');
  const entries = Object.fromEntries(Object.entries(startup).map(([k, v]) => [k, entryOf(v, `startup.${k}`)]));
  return Object.hasOwn(entries, 'entry') ? entries.entry : undefined;
}

/**
 * zos' merge of an image's startup entry with the deployment's own: env of both, the
 * deployment's value where both name a key; the image's entrypoint only where the deployment's
 * is '' exactly.
 */
export function applyStartup(own: StartupEntry, image: StartupEntry | undefined): StartupEntry {
  if (!image) return own;
  return {
    env: { ...image.env, ...own.env },
    entrypoint: own.entrypoint === '' && image.entrypoint !== '' ? image.entrypoint : own.entrypoint,
  };
}
