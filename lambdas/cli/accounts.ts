import { formatUsd } from '../gateway/money.ts';
import { FULL_PRICE_PPM } from '../gateway/pricing.ts';
import { CommandError, UsageError } from '../services/errors.ts';
import { checkAccountId, parseAmount, parseDiscount } from '../services/validate.ts';
import type { Stores } from '../store/index.ts';
import { AccountExistsError, TopUpConflictError, UnknownAccountError } from '../store/wallets.ts';
import type { Wallet } from '../vocabulary.ts';
import { formatPpm } from './format.ts';

export interface AccountCreated {
  account: string;
  balance_usd: string;
  createdAt: string;
}

/**
 * Creates an account's wallet with a zero balance.
 *
 * @example await createAccount(stores, 'acme') // { account: 'acme', balance_usd: '0.00', createdAt }
 */
export const createAccount = async (stores: Stores, account: string): Promise<AccountCreated> => {
  checkAccountId(account);
  try {
    const wallet = await stores.wallets.create(account);
    return { account, balance_usd: formatUsd(wallet.balance), createdAt: wallet.createdAt };
  } catch (error) {
    if (error instanceof AccountExistsError) throw new CommandError(error.message);
    throw error;
  }
};

/** Refuses an account that has no wallet, naming the command that creates it. */
export const requireAccount = async (stores: Stores, account: string): Promise<void> => {
  checkAccountId(account);
  if (!(await stores.wallets.get(account))) {
    throw new CommandError(`Unknown account '${account}' (create it with: tollgate accounts create ${account})`);
  }
};

/** A wallet as `balance` and `accounts set` print it: exact decimal USD strings with nano-USD alongside. */
export interface WalletSummary {
  account: string;
  balance_usd: string;
  balance_nano: number;
  credit_limit_usd: string;
  credit_limit_nano: number;
  /** What requests may still hold: balance + credit limit. */
  available_usd: string;
  available_nano: number;
  /** Fraction of list price charged: "1" = no discount, "0.8" = 20% off. */
  discount: string;
  discount_ppm: number;
}

const summarizeWallet = (wallet: Wallet): WalletSummary => {
  const discountPpm = wallet.discountPpm ?? FULL_PRICE_PPM;
  return {
    account: wallet.accountId,
    balance_usd: formatUsd(wallet.balance),
    balance_nano: wallet.balance,
    credit_limit_usd: formatUsd(wallet.creditLimit),
    credit_limit_nano: wallet.creditLimit,
    available_usd: formatUsd(wallet.spendable),
    available_nano: wallet.spendable,
    discount: formatPpm(discountPpm),
    discount_ppm: discountPpm,
  };
};

/**
 * The account's balance, credit limit, what it may still spend, and its discount, in one read.
 *
 * @example await getBalance(stores, 'acme') // { account: 'acme', balance_usd: '5.00', available_usd: '5.00', discount: '1', … }
 */
export const getBalance = async (stores: Stores, account: string): Promise<WalletSummary> => {
  checkAccountId(account);
  const wallet = await stores.wallets.get(account);
  if (!wallet) throw new CommandError(`Unknown account '${account}'`);
  return summarizeWallet(wallet);
};

export interface AccountSettings {
  /** USD the account may go below zero, exact decimal ("100.00"); "0" removes the credit. */
  creditLimit?: string;
  /** Fraction of list price charged, "0.8" = 20% off, "1" = none. */
  discount?: string;
}

/** The settings in nano-USD and parts per million; a usage error when none is given or one is malformed. */
export const checkAccountSettings = ({
  creditLimit,
  discount,
}: AccountSettings): { limitNano?: number; discountPpm?: number } => {
  if (creditLimit === undefined && discount === undefined) {
    throw new UsageError(
      'Nothing to set: give --credit-limit USD and/or --discount FRACTION. Usage: tollgate accounts set <account> [--credit-limit USD] [--discount FRACTION]',
    );
  }
  return {
    ...(creditLimit === undefined ? {} : { limitNano: parseAmount(creditLimit, 'credit limit') }),
    ...(discount === undefined ? {} : { discountPpm: parseDiscount(discount) }),
  };
};

/**
 * Sets an account's credit limit and/or discount and returns the wallet as it is then. Both are
 * checked before anything is written.
 *
 * @example await setAccount(stores, 'acme', { creditLimit: '50', discount: '0.8' })
 * // { account: 'acme', credit_limit_usd: '50.00', available_usd: '55.00', discount: '0.8', … }
 */
export const setAccount = async (
  stores: Stores,
  account: string,
  settings: AccountSettings,
): Promise<WalletSummary> => {
  checkAccountId(account);
  const { limitNano, discountPpm } = checkAccountSettings(settings);
  try {
    let wallet: Wallet | undefined;
    if (limitNano !== undefined) wallet = await stores.wallets.setCreditLimit(account, limitNano);
    if (discountPpm !== undefined) wallet = await stores.wallets.setDiscount(account, discountPpm);
    if (!wallet) throw new CommandError(`Unknown account '${account}'`);
    return summarizeWallet(wallet);
  } catch (error) {
    if (error instanceof UnknownAccountError) {
      throw new CommandError(`${error.message} (create it with: tollgate accounts create ${account})`);
    }
    throw error;
  }
};

export interface TopUpOutcome {
  account: string;
  topUpId: string;
  /** False when this id had already been credited: nothing changed. */
  applied: boolean;
  amount_usd: string;
  balance_usd: string;
}

const TOP_UP_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Credits `usd` (a decimal string, e.g. "12.50") to the account, once per top-up id: the same id
 * again changes nothing, the same id with another amount is refused.
 *
 * @example await topUp(stores, 'acme', '12.50', { id: 'invoice-42' }) // { applied: true, amount_usd: '12.50', … }
 */
export const topUp = async (
  stores: Stores,
  account: string,
  usd: string,
  options: { id?: string } = {},
): Promise<TopUpOutcome> => {
  checkAccountId(account);
  const amount = parseAmount(usd, 'amount', { positive: true });
  if (options.id !== undefined && !TOP_UP_ID.test(options.id)) {
    throw new UsageError(`Invalid top-up id '${options.id}': use 1-128 visible characters, no spaces`);
  }
  try {
    const result = await stores.wallets.topUp(account, amount, options.id);
    const wallet = await stores.wallets.get(account);
    return {
      account,
      topUpId: result.topUpId,
      applied: result.applied,
      amount_usd: formatUsd(result.amount),
      balance_usd: formatUsd(wallet?.balance ?? 0),
    };
  } catch (error) {
    if (error instanceof UnknownAccountError || error instanceof TopUpConflictError) {
      throw new CommandError(error.message);
    }
    throw error;
  }
};
