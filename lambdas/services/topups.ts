import { formatUsd } from '../gateway/money.ts';
import { MoneyLimitError, TopUpConflictError, UnknownAccountError } from '../store/wallets.ts';
import { MAX_TOP_UP_NANO, type TopUpPayment } from '../vocabulary.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { ConflictError, InvalidInputError, LimitExceededError, unknownAccount } from './errors.ts';
import { amountOf, checkAccountId } from './validate.ts';

export type TopUpsDeps = ServiceDeps<'wallets'>;

/**
 * A credit to an account, given in USD (decimal string, e.g. "12.50") or in nano-USD. The top-up id
 * is the caller's idempotency id: an invoice number, a payment id, a checkout session.
 */
export type TopUp = { accountId: string; topUpId: string; payment?: TopUpPayment } & (
  | { amountUsd: string; amountNano?: never }
  | { amountNano: number; amountUsd?: never }
);

export interface TopUpReceipt {
  account: string;
  topUpId: string;
  /** False when this id had already been credited: nothing changed. */
  applied: boolean;
  amount_usd: string;
  amount_nano: number;
  /** The balance just after. */
  balance_usd: string;
  balance_nano: number;
}

const TOP_UP_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Checks a {@link TopUp} without reading anything: the amount in nano-USD, more than zero and at most
 * `MAX_TOP_UP_NANO` ($1,000,000).
 */
export const checkTopUp = (topUp: TopUp): { accountId: string; topUpId: string; amount: number } => {
  const accountId = checkAccountId(topUp.accountId);
  const amount = amountOf({ usd: topUp.amountUsd, nano: topUp.amountNano }, 'amount', {
    positive: true,
    max: MAX_TOP_UP_NANO,
  });
  if (!TOP_UP_ID.test(topUp.topUpId)) {
    throw new InvalidInputError(`Invalid top-up id '${topUp.topUpId}': use 1-128 visible characters, no spaces`);
  }
  return { accountId, topUpId: topUp.topUpId, amount };
};

/**
 * Credits an account once per top-up id: the same id again changes nothing (`applied: false`), the
 * same id with another amount is a {@link ConflictError}. Safe to call again on any retry — a
 * payment webhook delivered twice credits once. A top-up that would carry the wallet past its
 * ceiling (`MAX_BALANCE_NANO`, counting money held by requests in flight) is a
 * {@link LimitExceededError} whose message names the ceiling, the balance and what may still be added.
 *
 * @example await topUp(stores, { accountId: 'acme', amountUsd: '12.50', topUpId: 'invoice-42' })
 * // { applied: true, amount_usd: '12.50', balance_usd: '12.50', … }
 */
export const topUp = async (deps: TopUpsDeps, input: TopUp): Promise<TopUpReceipt> => {
  const { accountId, topUpId, amount } = checkTopUp(input);
  try {
    const result = await deps.wallets.topUp(accountId, amount, topUpId, clock(deps), input.payment);
    const balance = (await deps.wallets.get(accountId))?.balance ?? 0;
    return {
      account: accountId,
      topUpId: result.topUpId,
      applied: result.applied,
      amount_usd: formatUsd(result.amount),
      amount_nano: result.amount,
      balance_usd: formatUsd(balance),
      balance_nano: balance,
    };
  } catch (error) {
    if (error instanceof UnknownAccountError) throw unknownAccount(accountId);
    if (error instanceof TopUpConflictError) {
      throw new ConflictError(`Top-up id '${topUpId}' was already used for a different amount`);
    }
    if (error instanceof MoneyLimitError) throw new LimitExceededError(error.message, { cause: error });
    throw error;
  }
};
