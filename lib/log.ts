import { pino, type Logger } from 'pino';

export type { Logger };

/** Root logger: JSON lines by default, pretty when stderr is a terminal. Pass children down; never import a global. */
export function createLogger(opts: { level?: string; name?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.ZOS_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? process.stderr.isTTY;
  if (pretty) {
    return pino({ level, name: opts.name, transport: { target: 'pino-pretty', options: { destination: 2 } } });
  }
  return pino({ level, name: opts.name }, pino.destination(2));
}

/** A logger that drops everything, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
