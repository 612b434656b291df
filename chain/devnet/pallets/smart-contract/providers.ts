/**
 * Solution providers (a share of the standard rewards of the contracts that name
 * them) and the root-only billing frequency change.
 */
import { u8aToHex } from '@polkadot/util';
import type { CallArgs } from '../../runtime/pallet.ts';
import type { CallContext, HookContext } from '../../runtime/context.ts';
import { fail, signerTwin } from './lifecycle.ts';
import { billingFrequency, encodeContract, getContract, putContract } from './storage.ts';
import { PALLET } from './types.ts';

/** tfchain caps the providers' total take at 50% of the standard rewards. */
export const MAX_PROVIDERS_TAKE = 50;

export interface ProviderShare {
  who: string;
  take: number;
}

/** The providers of an approved solution provider, or [] (unknown or unapproved ones take nothing). */
export function providerShares(ctx: HookContext, id: number | null): ProviderShare[] {
  if (id === null) return [];
  const sp = ctx.store(PALLET).get('SolutionProviders', id) as any;
  if (sp === null || !sp.approved.isTrue) return [];
  return sp.providers.map((p: any) => ({ who: u8aToHex(p.who.toU8a()), take: p.take.toNumber() }));
}

export function createSolutionProvider(ctx: CallContext, a: CallArgs): void {
  ctx.signer();
  const providers = [...(a.providers as any)].map((p: any) => ({ who: u8aToHex(p.who.toU8a()), take: p.take.toNumber() }));
  const total = providers.reduce((sum, p) => sum + p.take, 0);
  if (providers.length === 0 || total > MAX_PROVIDERS_TAKE) fail(ctx, 'InvalidProviderConfiguration');
  const s = ctx.store(PALLET);
  const id = (s.get('SolutionProviderID') as any).toNumber() + 1;
  const sp = {
    solutionProviderId: id, providers, description: u8aToHex((a.description as any).toU8a(true)), link: u8aToHex((a.link as any).toU8a(true)), approved: false,
  };
  s.put('SolutionProviderID', [], id);
  s.put('SolutionProviders', [id], sp);
  ctx.deposit(PALLET, 'SolutionProviderCreated', sp);
}

export function approveSolutionProvider(ctx: CallContext, a: CallArgs): void {
  const id = (a.solution_provider_id as any).toNumber();
  const approve = (a.approve as any).isTrue;
  const s = ctx.store(PALLET);
  const sp = (s.get('SolutionProviders', id) as any) ?? fail(ctx, 'NoSuchSolutionProvider');
  s.put('SolutionProviders', [id], { ...sp.toJSON(), approved: approve });
  ctx.deposit(PALLET, 'SolutionProviderApproved', [id, approve]);
}

/** The contract owner names an approved solution provider, once. */
export function attachSolutionProviderId(ctx: CallContext, a: CallArgs): void {
  const twinId = signerTwin(ctx);
  const contract = getContract(ctx, (a.contract_id as any).toNumber()) ?? fail(ctx, 'ContractNotExists');
  if (contract.twinId !== twinId || contract.solutionProviderId !== null) fail(ctx, 'UnauthorizedToChangeSolutionProviderId');
  const spId = (a.solution_provider_id as any).toNumber();
  const sp = (ctx.store(PALLET).get('SolutionProviders', spId) as any) ?? fail(ctx, 'NoSuchSolutionProvider');
  if (!sp.approved.isTrue) fail(ctx, 'SolutionProviderNotApproved');
  const updated = { ...contract, solutionProviderId: spId };
  putContract(ctx, updated);
  ctx.deposit(PALLET, 'ContractUpdated', encodeContract(updated));
}

/**
 * Root raises BillingFrequency; every contract moves to its slot under the new
 * frequency (id % frequency) so none is skipped or billed twice per round.
 */
export function changeBillingFrequency(ctx: CallContext, a: CallArgs): void {
  const frequency = (a.frequency as any).toNumber();
  if (frequency <= billingFrequency(ctx)) fail(ctx, 'CanOnlyIncreaseFrequency');
  const s = ctx.store(PALLET);
  const slots = s.entries('ContractsToBillAt');
  const ids = slots.flatMap((e) => (e.value as any).map((x: any) => x.toNumber() as number));
  for (const e of slots) s.remove('ContractsToBillAt', e.keys[0]);
  const bySlot = new Map<number, number[]>();
  for (const id of ids.sort((x, y) => x - y)) bySlot.set(id % frequency, [...(bySlot.get(id % frequency) ?? []), id]);
  for (const [slot, list] of bySlot) s.put('ContractsToBillAt', [slot], list);
  s.put('BillingFrequency', [], frequency);
  ctx.deposit(PALLET, 'BillingFrequencyChanged', frequency);
}
