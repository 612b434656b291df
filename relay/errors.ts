/** Strings the relay puts on the wire (reference §1, §5, §6); they must match rmb-rs exactly. */
export const RelayWireError = {
  rateLimited: 'exceeded rate limits, dropping message',
  wrongSource: 'message wrong source',
  missingDestination: 'message with missing destination',
  unknownTwin: 'unknown twin destination',
  relayNotSet: 'relay info is not set for this twin',
  destinationOffline: 'destination offline',
  remoteRejected: 'remote relay rejected permanently: destination offline',
  expired: 'message has expired',
  routeFailed: 'failed to route message to peer',
  /** Ours (federation ingest): the twin exists but lists other relays. */
  notOurTwin: 'destination twin is not served by this relay',
} as const;

export const RelayHttpError = {
  missingJwt: 'missing jwt',
  invalidJwt: (detail: string) => `invalid jwt: ${detail}`,
  twinNotFound: (twin: number) => `twin not found ${twin}`,
} as const;

export const RelayErrorCode = {
  closed: 'ERR_CLOSED',
  config: 'ERR_CONFIG',
  store: 'ERR_STORE',
} as const;
export type RelayErrorCode = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

export class RelayError extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RelayError';
  }
}
