/** Errors surfaced by the relay client. Wire strings stay in the codecs; these are local. */
export const RelayClientErrorCode = {
  closed: 'ERR_CLOSED',
  notStarted: 'ERR_NOT_STARTED',
  handshake: 'ERR_HANDSHAKE',
  connection: 'ERR_CONNECTION',
  unknownTwin: 'ERR_UNKNOWN_TWIN',
  badPayload: 'ERR_BAD_PAYLOAD',
} as const;
export type RelayClientErrorCode = (typeof RelayClientErrorCode)[keyof typeof RelayClientErrorCode];

export class RelayClientError extends Error {
  constructor(
    readonly code: RelayClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RelayClientError';
  }
}

/** The remote side (a peer or the relay) answered with an error envelope. */
export class RmbError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** true when the relay generated it (no source, unsigned). */
    readonly fromRelay = false,
  ) {
    super(message);
    this.name = 'RmbError';
  }
}

export class TimeoutError extends Error {
  readonly code = 'ERR_TIMEOUT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** rmb-peer error codes (reference §5) used when we reject a request before the handler runs. */
export const PeerErrorCode = {
  expired: 102,
  unknownTwin: 103,
  badSignature: 104,
  noPk: 105,
  e2e: 106,
  other: 500,
} as const;
