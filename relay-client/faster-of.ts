/**
 * Chooses between two ways of doing the same work by what each has cost lately: a moving average
 * (weight 1/16 for the newest figure, see record) per way, the cheaper one taken, and the other one tried
 * every `probeEvery` picks so that its figure follows the machine. Used where which way is faster
 * depends on the machine's load (responder.ts: a signature check on a worker thread pays only
 * while a core is free).
 */
export class FasterOf<Way extends string> {
  private readonly cost = new Map<Way, number>();
  private picks = 0;

  constructor(
    private readonly ways: readonly [Way, Way],
    private readonly probeEvery = 16,
  ) {}

  pick(): Way {
    const [a, b] = this.ways;
    const ca = this.cost.get(a);
    const cb = this.cost.get(b);
    if (ca === undefined) return a;
    if (cb === undefined) return b;
    const [cheap, dear] = ca <= cb ? [a, b] : [b, a];
    return ++this.picks % this.probeEvery === 0 ? dear : cheap;
  }

  /**
   * A figure counts at most 3x the way's average: one stalled request (a thread not scheduled
   * for a few ms) must not outweigh the fifteen typical ones around it, as the bench's p50 would not.
   */
  record(way: Way, ms: number): void {
    const prev = this.cost.get(way);
    this.cost.set(way, prev === undefined ? ms : prev + (Math.min(ms, 3 * prev) - prev) / 16);
  }

  /** The current figure of a way (ms), undefined before its first. */
  costOf(way: Way): number | undefined {
    return this.cost.get(way);
  }
}
