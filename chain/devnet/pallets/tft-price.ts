import { AccountId32 } from '../metadata/common-types.ts';
import { phantom, tuple, u16, u32 } from '../metadata/scale-info.ts';
import type { CallContext, HookContext } from '../runtime/context.ts';
import type { PalletDecl } from '../runtime/pallet.ts';

const PALLET = 'TFTPriceModule';
/** Prices are in mUSD per TFT (50 = 0.05 USD). */
export interface TftPriceGenesis {
  price?: number;
  minPrice?: number;
  maxPrice?: number;
}
export const TFT_PRICE_DEFAULTS = { price: 50, minPrice: 10, maxPrice: 1000 } as const;
/** tfchain averages the last 1440 reported prices (one day of 1-minute reports). */
export const PRICE_HISTORY_LENGTH = 1440;

const store = (ctx: HookContext) => ctx.store(PALLET);
const num = (ctx: HookContext, item: string): number => (store(ctx).get(item) as any).toNumber();

/**
 * The TFT price billing converts with, in mUSD: AverageTftPrice clamped to
 * [MinTftPrice, MaxTftPrice]; 0 when no price was ever set.
 */
export function billingTftPrice(ctx: HookContext): number {
  const avg = num(ctx, 'AverageTftPrice');
  if (avg === 0) return 0;
  const min = num(ctx, 'MinTftPrice');
  const max = num(ctx, 'MaxTftPrice');
  return Math.min(Math.max(avg, min), max || avg);
}

/** set_prices: records a price in the ring buffer and recomputes the average. */
function setPrices(ctx: CallContext, a: Record<string, any>): void {
  const price = a.price.toNumber();
  const s = store(ctx);
  const [, end] = (s.get('BufferRange') as any).map((x: any) => x.toNumber()) as [number, number];
  const slot = end % PRICE_HISTORY_LENGTH;
  s.put('TftPriceHistory', [slot], price);
  const filled = Math.min(end + 1, PRICE_HISTORY_LENGTH);
  s.put('BufferRange', [], [0, filled]);
  s.put('TftPrice', [], price);
  s.put('LastBlockSet', [], a.block_number.toNumber());
  ctx.deposit(PALLET, 'PriceStored', price);
  let sum = 0;
  for (let i = 0; i < filled; i++) sum += (s.get('TftPriceHistory', i) as any).toNumber();
  const avg = Math.floor(sum / filled);
  s.put('AverageTftPrice', [], avg);
  ctx.deposit(PALLET, 'AveragePriceStored', avg);
  const min = num(ctx, 'MinTftPrice');
  const max = num(ctx, 'MaxTftPrice');
  if (avg > max) ctx.deposit(PALLET, 'AveragePriceIsAboveMaxPrice', [avg, max]);
  else if (avg < min) ctx.deposit(PALLET, 'AveragePriceIsBelowMinPrice', [avg, min]);
}

/** pallet_tft_price (index 28): the TFT/USD price billing converts with. */
export function tftPricePallet(genesis: TftPriceGenesis = {}): PalletDecl {
  const cfg = { ...TFT_PRICE_DEFAULTS, ...genesis };
  return {
    name: PALLET,
    index: 28,
    typePath: 'pallet_tft_price::pallet',
    typeParams: phantom('T'),
    storage: [
      { name: 'TftPrice', modifier: 'Default', type: { plain: u32 } },
      { name: 'LastBlockSet', modifier: 'Default', type: { plain: u32 } },
      { name: 'AverageTftPrice', modifier: 'Default', type: { plain: u32 } },
      { name: 'TftPriceHistory', modifier: 'Default', type: { map: { hashers: ['Blake2_128Concat'], key: u16, value: u32 } } },
      { name: 'BufferRange', modifier: 'Default', type: { plain: tuple(u16, u16) } },
      { name: 'MinTftPrice', modifier: 'Default', type: { plain: u32 } },
      { name: 'MaxTftPrice', modifier: 'Default', type: { plain: u32 } },
    ],
    calls: [
      // Sent by validators' off-chain workers on tfchain; the devnet accepts it from root.
      { name: 'set_prices', index: 0, args: [['price', u32, 'u32'], ['block_number', u32, 'BlockNumberFor<T>']], root: true, run: setPrices },
      {
        name: 'set_min_tft_price', index: 2, args: [['price', u32, 'u32']], root: true,
        run: (ctx, a: any) => {
          const price = a.price.toNumber();
          if (price >= num(ctx, 'MaxTftPrice')) ctx.fail(PALLET, 'MinPriceAboveMaxPriceError');
          store(ctx).put('MinTftPrice', [], price);
        },
      },
      {
        name: 'set_max_tft_price', index: 3, args: [['price', u32, 'u32']], root: true,
        run: (ctx, a: any) => {
          const price = a.price.toNumber();
          if (price <= num(ctx, 'MinTftPrice')) ctx.fail(PALLET, 'MaxPriceBelowMinPriceError');
          store(ctx).put('MaxTftPrice', [], price);
        },
      },
    ],
    events: [
      ['PriceStored', [[null, u32, 'u32']]],
      ['OffchainWorkerExecuted', [[null, AccountId32, 'T::AccountId']]],
      ['AveragePriceStored', [[null, u32, 'u32']]],
      ['AveragePriceIsAboveMaxPrice', [[null, u32, 'u32'], [null, u32, 'u32']]],
      ['AveragePriceIsBelowMinPrice', [[null, u32, 'u32'], [null, u32, 'u32']]],
    ],
    errors: [
      'ErrFetchingPrice', 'OffchainSignedTxError', 'NoLocalAcctForSigning', 'AccountUnauthorizedToSetPrice',
      'MaxPriceBelowMinPriceError', 'MinPriceAboveMaxPriceError', 'IsNotAnAuthority', 'WrongAuthority',
    ],
    genesis: (ctx) => {
      const s = store(ctx);
      s.put('TftPrice', [], cfg.price);
      s.put('AverageTftPrice', [], cfg.price);
      s.put('MinTftPrice', [], cfg.minPrice);
      s.put('MaxTftPrice', [], cfg.maxPrice);
      s.put('TftPriceHistory', [0], cfg.price);
      s.put('BufferRange', [], [0, 1]);
    },
  };
}
