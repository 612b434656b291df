/** A minimal Prometheus text-format registry: labelled counters and gauges, nothing else. */
type Labels = Record<string, string>;

/** A family's key for a label set (the relay counts every frame: cheaper than JSON.stringify). */
function labelKey(labels: Labels): string {
  let key = '';
  for (const k in labels) key += `${k}\u0000${labels[k]}\u0001`;
  return key;
}

class Family {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  private slot(labels: Labels) {
    const key = labelKey(labels);
    let v = this.values.get(key);
    if (!v) this.values.set(key, (v = { labels, value: 0 }));
    return v;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.slot(labels).value += by;
  }

  /**
   * A counter of this family for fixed labels, for the per-frame counts: its series is looked up
   * once (on the first count, so /metrics lists it only once counted, as with inc), where inc
   * builds a key string and hashes it every time (~0.5 µs, twice a frame in the relay).
   */
  counter(labels: Labels): { inc(): void } {
    let v: { value: number } | undefined;
    return { inc: () => void ((v ??= this.slot(labels)).value += 1) };
  }

  set(labels: Labels, value: number): void {
    this.slot(labels).value = value;
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class RelayMetrics {
  readonly messages = new Family('rmb_relay_messages_total', 'Envelopes handled, by outcome.', 'counter');
  readonly drops = new Family('rmb_relay_drops_total', 'Envelopes dropped or refused, by reason.', 'counter');
  readonly sessions = new Family('rmb_relay_sessions', 'Connected sessions.', 'gauge');
  readonly connections = new Family('rmb_relay_connections_total', 'WebSocket upgrade attempts, by result.', 'counter');
  readonly queueBytes = new Family('rmb_relay_queue_bytes', 'Bytes of messages stored in offline queues (not for Redis).', 'gauge');
  /** The counts of every frame's path. */
  readonly received = this.messages.counter({ kind: 'received' });
  readonly delivered = this.messages.counter({ kind: 'delivered' });
  private readonly all = [this.messages, this.drops, this.sessions, this.connections, this.queueBytes];

  render(): string {
    const out: string[] = [];
    for (const f of this.all) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      if (f.values.size === 0 && f.type === 'gauge') out.push(`${f.name} 0`);
      for (const { labels, value } of f.values.values()) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',');
        out.push(`${f.name}${l ? `{${l}}` : ''} ${value}`);
      }
    }
    return out.join('\n') + '\n';
  }
}
