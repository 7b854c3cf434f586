import { type WalletSummary, walletSummary } from '../gateway/wallet-view.ts';
import { AccountExistsError, MoneyLimitError, UnknownAccountError, type WalletStore } from '../store/wallets.ts';
import { MAX_BALANCE_NANO, MAX_CREDIT_LIMIT_NANO, type Wallet } from '../vocabulary.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { ConflictError, InvalidInputError, LimitExceededError, unknownAccount } from './errors.ts';
import { amountOf, checkAccountId, checkDiscountPpm, parseAmount, parseDiscount } from './validate.ts';

export type AccountsDeps = ServiceDeps<'wallets'>;

/** A new account: its (empty) wallet and when it was created. */
export interface AccountCreated extends WalletSummary {
  created_at: string;
}

/**
 * Creates an account: a wallet with balance 0, no credit and no discount.
 *
 * @example await createAccount(stores, { accountId: 'acme' }) // { account: 'acme', balance_usd: '0.00', … }
 */
export const createAccount = async (
  deps: AccountsDeps,
  { accountId }: { accountId: string },
): Promise<AccountCreated> => {
  checkAccountId(accountId);
  try {
    const wallet = await deps.wallets.create(accountId, clock(deps));
    return { ...walletSummary(wallet), created_at: wallet.createdAt };
  } catch (error) {
    if (error instanceof AccountExistsError) throw new ConflictError(`Account '${accountId}' already exists`);
    throw error;
  }
};

/** The wallet of an account id as given (checked by the caller); a {@link NotFoundError} when there is none. */
export const requireWallet = async (
  deps: { wallets: Pick<WalletStore, 'get'> },
  accountId: string,
): Promise<Wallet> => {
  const wallet = await deps.wallets.get(accountId);
  if (!wallet) throw unknownAccount(accountId);
  return wallet;
};

/**
 * The account's balance, credit limit, what it may still hold, and its discount, in one read.
 *
 * @example await getAccount(stores, { accountId: 'acme' }) // { balance_usd: '5.00', available_usd: '5.00', discount: '1', … }
 */
export const getAccount = async (deps: AccountsDeps, { accountId }: { accountId: string }): Promise<WalletSummary> =>
  walletSummary(await requireWallet(deps, checkAccountId(accountId)));

/**
 * What to change of an account. Each setting is given one way or the other: the credit limit in
 * USD (decimal string) or nano-USD, the discount as the fraction of list price charged ("0.8" =
 * 20% off, "1" = none) or in parts per million.
 */
export interface AccountChanges {
  accountId: string;
  /** USD the balance may go below zero, e.g. "50.00"; "0" removes the credit; at most $1,000,000. */
  creditLimitUsd?: string;
  creditLimitNano?: number;
  discount?: string;
  discountPpm?: number;
  /** USD: e-mail the members when a settle leaves the balance below it; "none" removes the alert. */
  alertBelowUsd?: string;
}

/** The changes checked: the credit limit in nano-USD, the discount in parts per million. */
export interface CheckedAccountChanges {
  accountId: string;
  creditLimitNano?: number;
  discountPpm?: number;
  /** nano-USD; null removes the alert. */
  alertBelowNano?: number | null;
}

/** Checks {@link AccountChanges} without reading anything; an {@link InvalidInputError} names the first problem. */
export const checkAccountChanges = (changes: AccountChanges): CheckedAccountChanges => {
  const accountId = checkAccountId(changes.accountId);
  const { creditLimitUsd, creditLimitNano, discount, discountPpm } = changes;
  if (discount !== undefined && discountPpm !== undefined) {
    throw new InvalidInputError('Give the discount once: as a fraction or in parts per million, not both');
  }
  const checked: CheckedAccountChanges = { accountId };
  if (creditLimitUsd !== undefined || creditLimitNano !== undefined) {
    checked.creditLimitNano = amountOf({ usd: creditLimitUsd, nano: creditLimitNano }, 'credit limit', {
      max: MAX_CREDIT_LIMIT_NANO,
    });
  }
  if (discount !== undefined) checked.discountPpm = parseDiscount(discount);
  if (discountPpm !== undefined) checked.discountPpm = checkDiscountPpm(discountPpm);
  if (changes.alertBelowUsd !== undefined) checked.alertBelowNano = parseAlertBelow(changes.alertBelowUsd);
  if (
    checked.creditLimitNano === undefined &&
    checked.discountPpm === undefined &&
    checked.alertBelowNano === undefined
  ) {
    throw new InvalidInputError('Nothing to change: give a credit limit, a discount and/or an alert threshold');
  }
  return checked;
};

/**
 * A low-balance alert threshold as exact USD ("5", "12.50"), or "none" (null) to remove it.
 *
 * @example parseAlertBelow('5') // 5_000_000_000
 */
export const parseAlertBelow = (text: string): number | null =>
  text.trim().toLowerCase() === 'none'
    ? null
    : parseAmount(text.trim(), 'alert threshold', { positive: true, max: MAX_BALANCE_NANO });

/**
 * Sets a wallet's low-balance alert threshold (nano-USD, armed), or removes it (null): the members
 * are e-mailed once when a settle leaves the balance below it, again after a top-up back above it.
 *
 * @example await setAlertThreshold(stores, { accountId: 'acme', alertBelowUsd: '5' }) // { alert_below_usd: '5.00', … }
 */
export const setAlertThreshold = async (
  deps: AccountsDeps,
  { accountId, alertBelowUsd }: { accountId: string; alertBelowUsd: string },
): Promise<WalletSummary> => updateAccount(deps, { accountId, alertBelowUsd });

/**
 * Sets an account's credit limit and/or discount; both are checked before anything is written. A
 * discount applies to requests from then on (a running gateway within about 30 s); rows already
 * in the ledger keep the price they were charged.
 *
 * @example await updateAccount(stores, { accountId: 'acme', creditLimitUsd: '50', discount: '0.8' })
 * // { account: 'acme', credit_limit_usd: '50.00', available_usd: '55.00', discount: '0.8', … }
 */
export const updateAccount = async (deps: AccountsDeps, changes: AccountChanges): Promise<WalletSummary> => {
  const { accountId, creditLimitNano, discountPpm, alertBelowNano } = checkAccountChanges(changes);
  const at = clock(deps);
  try {
    let wallet: Wallet | undefined;
    if (creditLimitNano !== undefined) wallet = await deps.wallets.setCreditLimit(accountId, creditLimitNano, at);
    if (discountPpm !== undefined) wallet = await deps.wallets.setDiscount(accountId, discountPpm, at);
    if (alertBelowNano !== undefined) {
      wallet = await deps.wallets.setAlertBelow(accountId, alertBelowNano ?? undefined, at);
    }
    if (!wallet) throw unknownAccount(accountId);
    return walletSummary(wallet);
  } catch (error) {
    if (error instanceof UnknownAccountError) throw unknownAccount(accountId);
    if (error instanceof MoneyLimitError) throw new LimitExceededError(error.message, { cause: error });
    throw error;
  }
};
