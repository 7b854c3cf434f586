import { formatUsd } from '../gateway/money.ts';
import type { Stores } from '../store/index.ts';
import { AccountExistsError, TopUpConflictError, UnknownAccountError } from '../store/wallets.ts';
import { CommandError, UsageError } from './errors.ts';
import { checkAccountId, parseAmount } from './validate.ts';

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

export interface Balance {
  account: string;
  balance_usd: string;
  credit_limit_usd: string;
  balance_nano: number;
}

/**
 * The account's balance, as an exact decimal string and in nano-USD.
 *
 * @example await getBalance(stores, 'acme') // { account: 'acme', balance_usd: '5.00', credit_limit_usd: '0.00', balance_nano: 5000000000 }
 */
export const getBalance = async (stores: Stores, account: string): Promise<Balance> => {
  checkAccountId(account);
  const wallet = await stores.wallets.get(account);
  if (!wallet) throw new CommandError(`Unknown account '${account}'`);
  return {
    account,
    balance_usd: formatUsd(wallet.balance),
    credit_limit_usd: formatUsd(wallet.creditLimit),
    balance_nano: wallet.balance,
  };
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
