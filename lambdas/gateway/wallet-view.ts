import { InvalidRequestError } from '../errors.ts';
import type { LedgerRow, Wallet } from '../vocabulary.ts';
import { formatUsd } from './money.ts';
import { FULL_PRICE_PPM } from './pricing.ts';

export const WALLET_PAGE_DEFAULT = 20;
export const WALLET_PAGE_MAX = 100;

/** `?limit=&cursor=` of `GET /v1/wallet`, checked. */
export const walletPageParams = (query: Readonly<Record<string, string | undefined>> | undefined) => {
  const limitText = query?.limit;
  const limit = limitText === undefined ? WALLET_PAGE_DEFAULT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > WALLET_PAGE_MAX) {
    const error = new InvalidRequestError(`'limit' must be a whole number from 1 to ${WALLET_PAGE_MAX}`);
    error.param = 'limit';
    throw error;
  }
  const cursor = query?.cursor;
  if (cursor !== undefined && !/^\d{4}-\d{2}-\d{2}T[^#]+#.+$/.test(cursor)) {
    const error = new InvalidRequestError("'cursor' is not a cursor this endpoint returned");
    error.param = 'cursor';
    throw error;
  }
  return cursor === undefined ? { limit } : { limit, cursor };
};

const ledgerEntry = (row: LedgerRow): Record<string, unknown> => {
  if (row.kind === 'topup') {
    return { type: 'topup', id: row.topUpId, at: row.at, amount_usd: formatUsd(row.amount) };
  }
  const final = row.status === 'final';
  return {
    type: 'usage',
    id: row.requestId,
    at: row.at,
    status: row.status,
    model: row.model,
    key_id: row.keyId,
    // What the row moves the balance by now: the cost once settled, the hold while pending.
    amount_usd: formatUsd(-(final ? (row.cost ?? 0) : row.hold)),
    ...(final ? { cost_usd: formatUsd(row.cost ?? 0), outcome: row.outcome } : { hold_usd: formatUsd(row.hold) }),
    ...(row.usage
      ? {
          usage: {
            input_tokens: row.usage.inputTokens,
            output_tokens: row.usage.outputTokens,
            cache_read_tokens: row.usage.cacheReadTokens,
            cache_write_tokens: row.usage.cacheWriteTokens,
          },
        }
      : {}),
    ...(row.estimated ? { estimated: true } : {}),
  };
};

/**
 * The body of `GET /v1/wallet`: the key's account balance and a page of its ledger, newest first —
 * the truth behind a "wallet page".
 */
export const walletView = (wallet: Wallet, rows: readonly LedgerRow[], nextCursor: string | undefined) => ({
  object: 'wallet',
  account: wallet.accountId,
  currency: 'USD',
  balance_usd: formatUsd(wallet.balance),
  balance_nano: wallet.balance,
  credit_limit_usd: formatUsd(wallet.creditLimit),
  discount: ((wallet.discountPpm ?? FULL_PRICE_PPM) / FULL_PRICE_PPM).toString(),
  ledger: { data: rows.map(ledgerEntry), has_more: nextCursor !== undefined, next_cursor: nextCursor ?? null },
});
