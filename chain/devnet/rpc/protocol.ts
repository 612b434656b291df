import { z } from 'zod';

/** JSON-RPC 2.0 error codes, plus substrate's client error for pruned/unknown state. */
export const RPC_CODES = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  UnknownBlock: 4003,
} as const;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

export const invalidParams = (detail: string) => new RpcError(RPC_CODES.InvalidParams, 'Invalid params', detail);
export const unknownBlock = (hash: string) => new RpcError(RPC_CODES.UnknownBlock, `Client error: UnknownBlock: State already discarded for ${hash}`);

export type RpcId = string | number | null;

export const requestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
  method: z.string().min(1).max(256),
  params: z.unknown().optional(),
});

export type RpcRequest = z.infer<typeof requestSchema>;

export const okResponse = (id: RpcId, result: unknown) => ({ jsonrpc: '2.0' as const, id, result: result === undefined ? null : result });
export const errResponse = (id: RpcId, error: { code: number; message: string; data?: unknown }) => ({ jsonrpc: '2.0' as const, id, error });

export const notification = (method: string, subscription: string, result: unknown) => ({
  jsonrpc: '2.0' as const,
  method,
  params: { subscription, result },
});

// ---- param schemas shared by the method modules ----

export const hexString = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes');
export const hash32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte 0x-hex hash');
/** Optional trailing block hash (`null` or absent means best). */
export const optAt = hash32.nullish();
