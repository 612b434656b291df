/**
 * Chooses between two ways of doing the same work by what each has cost lately: a moving average
 * per way (see record), the clearly cheaper one taken, and the other one tried now and then (see
 * pick) so that its figure follows the machine. Used where which way is faster
 * depends on the machine's load (responder.ts: a signature check on a worker thread pays only
 * while a core is free).
 */
export class FasterOf<Way extends string> {
  private readonly cost = new Map<Way, number>();
  private picks = 0;
  /** The way taken between probes: the first one until the other is clearly cheaper. */
  private taken: Way;

  constructor(
    private readonly ways: readonly [Way, Way],
    private readonly probeEvery = 16,
  ) {
    this.taken = ways[0];
  }

  pick(): Way {
    const [a, b] = this.ways;
    const ca = this.cost.get(a);
    const cb = this.cost.get(b);
    if (ca === undefined) return a;
    if (cb === undefined) return b;
    // The way taken changes only for one clearly cheaper (by a fifth): on a busy machine both
    // figures swing, and flapping between them cost more than either.
    const other = this.taken === a ? b : a;
    if (this.cost.get(other)! < 0.8 * this.cost.get(this.taken)!) this.taken = other;
    const dear = this.taken === a ? b : a;
    // The dearer the other way, the rarer its probes: each costs the gap, and a way k times dearer
    // is tried every k x probeEvery picks (k at most 8, so that a way that got cheaper is noticed
    // within a few hundred picks): probing costs about 1/probeEvery of the cheap way per pick.
    const ratio = this.cost.get(dear)! / Math.max(this.cost.get(this.taken)!, 1e-9);
    return ++this.picks % (this.probeEvery * Math.min(8, Math.max(1, Math.ceil(ratio)))) === 0 ? dear : this.taken;
  }

  /**
   * A figure counts at most 3x the way's average: one stalled request (a thread not scheduled
   * for a few ms) must not outweigh the fifteen typical ones around it, as the bench's p50 would not.
   * A cheaper figure weighs 1/4, a dearer one 1/16: the way not taken is measured only by probes,
   * and its first figures (cold code, a worker still starting) must not keep it out for long.
   */
  record(way: Way, ms: number): void {
    const prev = this.cost.get(way);
    this.cost.set(way, prev === undefined ? ms : prev + (Math.min(ms, 3 * prev) - prev) / (ms < prev ? 4 : 16));
  }

  /** The current figure of a way (ms), undefined before its first. */
  costOf(way: Way): number | undefined {
    return this.cost.get(way);
  }
}
