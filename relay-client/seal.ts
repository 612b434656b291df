import { challenge } from './challenge.ts';
import { decrypt, E2eError, encrypt, type SharedKeyCache } from './e2e.ts';
import { SCHEMA_JSON, type Address, type Envelope, type Message } from '../rmb/envelope.ts';
import { PeerErrorCode } from './errors.ts';
import type { Identity } from './identity.ts';
import { signPrefixed } from '../rmb/signature.ts';
import { verifyPrefixedAside, verifyPrefixedPooled } from '../rmb/verify-pool.ts';
import { lookupTwin, type Twin, type TwinDirectory } from '../rmb/twins.ts';

/**
 * Building signed (and encrypted) envelopes, and opening received ones: expiry, the sender's
 * signature against its on-chain account, schema, and decryption with the sender's pk.
 */
export interface SealContext {
  identity: Identity;
  twinId: number;
  sid?: string;
  /** Our relay hosts, sent in the (signed) `relays` field. */
  relayHosts: string[];
  encrypt: boolean;
  /** Shared keys for `identity.secpSecret`. */
  keys: SharedKeyCache;
}

/** Seconds a response stays valid, as the Go peer sets it. */
export const RESPONSE_EXPIRATION_S = 300;

export function ownAddress(ctx: SealContext): Address {
  return ctx.sid === undefined ? { twin: ctx.twinId } : { twin: ctx.twinId, connection: ctx.sid };
}

function sealPayload(ctx: SealContext, dest: Twin | null, data: Uint8Array): Envelope['payload'] {
  if (ctx.encrypt && dest?.pk) return { kind: 'cipher', data: encrypt(ctx.keys.get(dest.pk), data) };
  return { kind: 'plain', data };
}

/** Signs `e` (an envelope just built here) in place: a copy of it cost more than its MD5. */
function signed(ctx: SealContext, e: Envelope): Envelope {
  e.signature = signPrefixed(ctx.identity, challenge(e));
  return e;
}

export function sealRequest(
  ctx: SealContext,
  args: { uid: string; dest: Twin; command: string; payload: Uint8Array; nowS: number; expirationS: number },
): Envelope {
  return signed(ctx, {
    uid: args.uid,
    tags: '',
    timestamp: args.nowS,
    expiration: args.expirationS,
    source: ownAddress(ctx),
    destination: { twin: args.dest.id },
    message: { kind: 'request', command: args.command },
    schema: SCHEMA_JSON,
    payload: sealPayload(ctx, args.dest, args.payload),
    relays: ctx.relayHosts,
  });
}

export type ReplyBody = { ok: true; json: Uint8Array } | { ok: false; code: number; message: string };

const JSON_NULL = new TextEncoder().encode('null');

/** The Go peer's response shape (reference §5): uid echo, expiration 300, requester's connection kept. */
export function sealReply(ctx: SealContext, request: Envelope, requester: Twin | null, body: ReplyBody, nowS: number): Envelope {
  const src = request.source ?? { twin: 0 };
  const message: Message = body.ok ? { kind: 'response' } : { kind: 'error', code: body.code, message: body.message };
  const e: Envelope = {
    uid: request.uid,
    timestamp: nowS,
    expiration: RESPONSE_EXPIRATION_S,
    source: ownAddress(ctx),
    destination: src.connection === undefined ? { twin: src.twin } : { twin: src.twin, connection: src.connection },
    message,
    schema: SCHEMA_JSON,
    payload: sealPayload(ctx, requester, body.ok ? body.json : JSON_NULL),
    relays: ctx.relayHosts,
  };
  if (requester?.relay) e.federation = requester.relay;
  return signed(ctx, e);
}

export type Opened =
  | { ok: true; twin: Twin; payload: Uint8Array }
  | { ok: false; code: number; reason: string; twin: Twin | null };

export function isExpired(e: Envelope, nowS: number): boolean {
  return e.timestamp + e.expiration <= nowS;
}

/**
 * Checks a request/response from another twin; never throws for bad input (only for lookup
 * failures). The result comes synchronously when the sender's twin is cached and its signature
 * is checked inline (the usual case), else as a promise: each await on the message path is a
 * turn of the microtask queue. No closure is made on the synchronous path (each one made per
 * message is an allocation and a lazy-compile stub at its first call).
 */
export function openEnvelope(ctx: SealContext, e: Envelope, twins: TwinDirectory, nowS: number): Opened | Promise<Opened> {
  const from = sender(e, twins, nowS);
  if (from instanceof Promise) return from.then((f) => ('ok' in f ? f : openFrom(ctx, e, f)));
  return 'ok' in from ? from : openFrom(ctx, e, from);
}

function openFrom(ctx: SealContext, e: Envelope, twin: Twin): Opened | Promise<Opened> {
  const verified = verifyPrefixedPooled(e.signature, challenge(e), twin.accountId);
  return typeof verified === 'boolean' ? openVerified(ctx, e, twin, verified) : verified.then((v) => openVerified(ctx, e, twin, v));
}

/**
 * An envelope's checks with its signature check under way: `opened` is what openEnvelope gives
 * if the signature holds. Nothing may act on it outside this process before `verified` is true
 * (see `settled`).
 */
export interface Checking {
  twin: Twin;
  verified: boolean | Promise<boolean>;
  opened: Opened;
}

/**
 * openEnvelope's checks with the signature check started first, on a worker where one is
 * running, and the other checks and the decryption done meanwhile on this thread. An Opened when
 * a check that comes before the signature fails (missing source, expiry, unknown twin).
 */
export function openChecking(ctx: SealContext, e: Envelope, twins: TwinDirectory, nowS: number): Opened | Checking | Promise<Opened | Checking> {
  const from = sender(e, twins, nowS);
  if (from instanceof Promise) return from.then((f) => ('ok' in f ? f : checking(ctx, e, f)));
  return 'ok' in from ? from : checking(ctx, e, from);
}

function checking(ctx: SealContext, e: Envelope, twin: Twin): Checking {
  const verified = verifyPrefixedAside(e.signature, challenge(e), twin.accountId);
  return { twin, verified, opened: openVerified(ctx, e, twin, true) };
}

/** What openEnvelope gives for a Checking once its verdict is in. */
export function settled(c: Checking, verified: boolean): Opened {
  return verified ? c.opened : badSignature(c.twin);
}

/** The sender's twin, or why the envelope fails before its signature is looked at. */
function sender(e: Envelope, twins: TwinDirectory, nowS: number): Twin | Opened | Promise<Twin | Opened> {
  if (!e.source || e.source.twin === 0) return { ok: false, code: PeerErrorCode.unknownTwin, reason: 'missing source', twin: null };
  if (isExpired(e, nowS)) return { ok: false, code: PeerErrorCode.expired, reason: 'envelope has expired', twin: null };
  const from = e.source.twin;
  const twin = lookupTwin(twins, from);
  return twin instanceof Promise ? twin.then((t) => t ?? unknownTwin(from)) : (twin ?? unknownTwin(from));
}

const unknownTwin = (id: number): Opened => ({ ok: false, code: PeerErrorCode.unknownTwin, reason: `twin not found ${id}`, twin: null });
const badSignature = (twin: Twin): Opened => ({ ok: false, code: PeerErrorCode.badSignature, reason: 'invalid envelope signature', twin });

function openVerified(ctx: SealContext, e: Envelope, twin: Twin, verified: boolean): Opened {
  if (!verified) return badSignature(twin);
  if (e.schema !== SCHEMA_JSON) return { ok: false, code: PeerErrorCode.other, reason: `unsupported schema ${JSON.stringify(e.schema)}`, twin };
  if (!e.payload || e.payload.kind === 'plain') return { ok: true, twin, payload: e.payload?.data ?? new Uint8Array(0) };
  if (!twin.pk) return { ok: false, code: PeerErrorCode.noPk, reason: 'sender has no public key', twin };
  try {
    return { ok: true, twin, payload: decrypt(ctx.keys.get(twin.pk), e.payload.data) };
  } catch (err) {
    if (err instanceof E2eError) return { ok: false, code: PeerErrorCode.e2e, reason: err.message, twin };
    throw err;
  }
}
