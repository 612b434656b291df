/**
 * Below tfgrid's TimestampHintDrift (60 s) by a margin: a block sealed at the limit is at most
 * MinimumPeriod (3 s) further ahead, so nodes' uptime reports, hinted from their own clocks, stay
 * accepted; higher than needed for that, so test grids' bursts of setup blocks rarely wait.
 */
export const DEVNET_MAX_AHEAD_MS = 50_000;
