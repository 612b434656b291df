/** user_accept_tc (25): records the signer's acceptance of a terms document. No event, as in tfchain. */
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { bytesArg, check, ensureBound, text } from './call-kit.ts';
import { termsToInput, type Hex } from './model.ts';
import { TFGRID, termsAccepted } from './queries.ts';
import { LIMITS, byteLength, checkTerms } from './validate.ts';

function userAcceptTc(ctx: CallContext, args: CallArgs): void {
  const account = ctx.signer();
  const documentLink = text(args.document_link!);
  const documentHash = text(args.document_hash!);
  ensureBound(byteLength(documentLink), LIMITS.documentLink[1], 'document_link');
  ensureBound(byteLength(documentHash), LIMITS.documentHash[1], 'document_hash');
  check(checkTerms(documentLink, documentHash));
  const entry = { accountId: account as Hex, timestamp: ctx.nowSeconds, documentLink, documentHash };
  const list = [...termsAccepted(ctx, account), entry];
  ctx.store(TFGRID).put('UsersTermsAndConditions', [account], list.map(termsToInput));
}

export const termsCalls: CallDecl[] = [
  {
    name: 'user_accept_tc', index: 25,
    args: [bytesArg('document_link', 'DocumentLinkInput'), bytesArg('document_hash', 'DocumentHashInput')],
    run: userAcceptTc,
  },
];
