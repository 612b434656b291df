import { createConnection, type Socket } from 'node:net';
import { VmError } from './errors.ts';

/**
 * A QMP (QEMU Machine Protocol) client over the VM's unix socket: JSON objects, one per line.
 * Commands carry an `id`, so replies match even with async events interleaved.
 */
export class Qmp {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private greeted!: () => void;
  private closed!: (err: Error) => void;
  private readonly greeting = new Promise<void>((resolve, reject) => ((this.greeted = resolve), (this.closed = reject)));

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => this.failAll(new VmError('QMP', 'QMP connection closed')));
    sock.on('error', (err) => this.failAll(new VmError('QMP', `QMP: ${err.message}`)));
  }

  /** Connect and negotiate capabilities; retries until `timeoutMs` while QEMU creates the socket. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(sock);
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([qmp.greeting, new Promise((_, rej) => (timer = setTimeout(() => rej(new VmError('QMP', `no QMP greeting on ${path}`)), 5000)))]);
          await qmp.execute('qmp_capabilities');
        } catch (err) {
          qmp.close();
          throw err;
        } finally {
          clearTimeout(timer);
        }
        return qmp;
      } catch (err) {
        if (Date.now() > deadline) throw new VmError('QMP', `cannot connect to QMP at ${path}: ${(err as Error).message}`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: { QMP?: unknown; id?: string; return?: unknown; error?: { class: string; desc: string } };
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg.QMP) this.greeted();
      if (msg.id === undefined) continue;
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new VmError('QMP', `QMP ${msg.error.class}: ${msg.error.desc}`));
      else p?.resolve(msg.return);
    }
  }

  private failAll(err: Error): void {
    this.closed(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VmError('QMP', `QMP ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.sock.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  async status(): Promise<string> {
    const r = (await this.execute('query-status')) as { status: string };
    return r.status;
  }

  close(): void {
    this.sock.destroy();
  }
}
