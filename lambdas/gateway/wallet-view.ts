import { InvalidRequestError } from '../errors.ts';
import type { LedgerRow, Outcome, UsageRow, Wallet } from '../vocabulary.ts';
import { formatUsd, usdNumber } from './money.ts';
import { FULL_PRICE_PPM } from './pricing.ts';

/**
 * The public JSON of wallets and ledger rows: one shape for `GET /v1/wallet`, the CLI's `--json`
 * (`tollgate balance`, `tollgate usage`) and the console. Snake case. Every amount is an exact
 * decimal USD string (`*_usd`); the amount of one wallet or one row also comes as integer nano-USD
 * (`*_nano`, a JSON number), which the money limits keep within what a JSON number holds exactly.
 * Sums over rows (a page's totals, an audit) may pass that range, so they are `*_usd` strings only.
 */

export const WALLET_PAGE_DEFAULT = 20;
export const WALLET_PAGE_MAX = 100;

/** A ledger cursor as pages hand it out: the sort key of the last row shown (`<ISO time>#<id>`). */
export const LEDGER_CURSOR = /^\d{4}-\d{2}-\d{2}T[^#]+#.+$/;

/** `?limit=&cursor=` of `GET /v1/wallet`, checked. */
export const walletPageParams = (query: Readonly<Record<string, string | undefined>> | undefined) => {
  const limitText = query?.['limit'];
  const limit = limitText === undefined ? WALLET_PAGE_DEFAULT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > WALLET_PAGE_MAX) {
    const error = new InvalidRequestError(`'limit' must be a whole number from 1 to ${WALLET_PAGE_MAX}`);
    error.param = 'limit';
    throw error;
  }
  const cursor = query?.['cursor'];
  if (cursor !== undefined && !LEDGER_CURSOR.test(cursor)) {
    const error = new InvalidRequestError("'cursor' is not a cursor this endpoint returned");
    error.param = 'cursor';
    throw error;
  }
  return cursor === undefined ? { limit } : { limit, cursor };
};

const PPM_DIGITS = 6;

/**
 * Parts per million as an exact decimal, trailing zeros dropped: a discount as the fraction of list
 * price charged.
 *
 * @example formatPpm(800_000) // '0.8'; formatPpm(1_000_000) // '1'
 */
export const formatPpm = (ppm: number): string => {
  const fraction = (ppm % FULL_PRICE_PPM).toString().padStart(PPM_DIGITS, '0').replace(/0+$/, '');
  const whole = (ppm - (ppm % FULL_PRICE_PPM)) / FULL_PRICE_PPM;
  return fraction === '' ? `${whole}` : `${whole}.${fraction}`;
};

/** An exact USD decimal for people: `-$0.0105`, `$5.00`. */
export const usd = (decimal: string): string => (decimal.startsWith('-') ? `-$${decimal.slice(1)}` : `$${decimal}`);

/** A discount for people: "none", or "0.8 of list price (20% off)". */
export const describeDiscount = (ppm: number): string => {
  if (ppm >= FULL_PRICE_PPM) return 'none';
  // Percent off = (1 − fraction) × 100 = (PPM − ppm) / 10_000, with up to four decimals.
  const off = FULL_PRICE_PPM - ppm;
  const decimals = (off % 10_000).toString().padStart(4, '0').replace(/0+$/, '');
  const percent = `${(off - (off % 10_000)) / 10_000}${decimals === '' ? '' : `.${decimals}`}`;
  return `${formatPpm(ppm)} of list price (${percent}% off)`;
};

/** An account's wallet: what `tollgate balance` prints and `GET /v1/wallet` starts with. */
export interface WalletSummary {
  account: string;
  balance_usd: string;
  balance_nano: number;
  /** How far below zero the balance may go. */
  credit_limit_usd: string;
  credit_limit_nano: number;
  /** What requests may still hold: balance + credit limit. */
  available_usd: string;
  available_nano: number;
  /** Fraction of list price charged: "1" = no discount, "0.8" = 20% off. */
  discount: string;
  discount_ppm: number;
  /** The low-balance alert's threshold: members are e-mailed when a settle leaves the balance below it; null = none. */
  alert_below_usd: string | null;
  alert_below_nano: number | null;
}

export const walletSummary = (wallet: Wallet): WalletSummary => {
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
    alert_below_usd: wallet.alertBelow === undefined ? null : formatUsd(wallet.alertBelow),
    alert_below_nano: wallet.alertBelow ?? null,
  };
};

/** Normalized tokens: input excludes cache reads and writes, so each token is counted once. */
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

/** A request's ledger row: its hold while pending, its cost once final. */
export interface UsageEntry {
  type: 'usage';
  /** The request id (also in the proxy's logs and its `x-request-id`). */
  id: string;
  at: string;
  status: 'pending' | 'final';
  /** How the request ended; null while its hold is open. */
  outcome: Outcome | null;
  /** The model billed: the route that answered. */
  model: string;
  /** The model first routed to, when a fallback route answered instead; else null. */
  fallback_from: string | null;
  provider: string;
  key_id: string;
  /** What the row moves the balance by now: minus the cost once final, minus the hold while pending. */
  amount_usd: string;
  amount_nano: number;
  hold_usd: string;
  hold_nano: number;
  /** null while pending. */
  cost_usd: string | null;
  cost_nano: number | null;
  /** Fraction of list price charged: "1" = no discount. */
  discount: string;
  /** True when the upstream reported no usage and the cost is the documented estimate. */
  estimated: boolean;
  /** True when the reported usage cost more than the hold: debited in full all the same. */
  overrun: boolean;
  /** null while pending, and when the request ended before any usage was reported. */
  usage: TokenUsage | null;
}

/** A top-up's ledger row. */
export interface TopUpEntry {
  type: 'topup';
  /** The top-up id (the idempotency id it was credited under). */
  id: string;
  at: string;
  amount_usd: string;
  amount_nano: number;
  /** The card payment behind it (Stripe Checkout); null for other top-ups. */
  payment: { session_id: string; payment_intent_id: string | null; receipt_url: string | null } | null;
}

/** One ledger row in its one public shape. */
/** An adjustment's ledger row: a card payment refunded or disputed (amount negative). */
export interface AdjustmentEntry {
  type: 'adjustment';
  /** The adjustment id (the idempotency id it was applied under). */
  id: string;
  at: string;
  /** Signed: negative is a debit. */
  amount_usd: string;
  amount_nano: number;
  reason: string;
  payment: { charge_id: string | null; payment_intent_id: string | null; dispute_id: string | null } | null;
}

export type LedgerEntry = UsageEntry | TopUpEntry | AdjustmentEntry;

/** A page of a ledger, newest first. */
export interface LedgerPage {
  data: LedgerEntry[];
  has_more: boolean;
  /** Pass back as `cursor` for the next, older page; null on the last page. */
  next_cursor: string | null;
}

const usageEntry = (row: UsageRow): UsageEntry => {
  const final = row.status === 'final';
  const cost = final ? (row.cost ?? 0) : null;
  const amount = 0 - (cost ?? row.hold); // not -(…): a free request moves the balance by 0, not -0
  return {
    type: 'usage',
    id: row.requestId,
    at: row.at,
    status: row.status,
    outcome: final ? (row.outcome ?? 'completed') : null,
    model: row.model,
    fallback_from: row.fallbackFrom ?? null,
    provider: row.provider,
    key_id: row.keyId,
    amount_usd: formatUsd(amount),
    amount_nano: amount,
    hold_usd: formatUsd(row.hold),
    hold_nano: row.hold,
    cost_usd: cost === null ? null : formatUsd(cost),
    cost_nano: cost,
    discount: formatPpm(row.discountPpm ?? FULL_PRICE_PPM),
    estimated: row.estimated === true,
    overrun: row.overrun === true,
    usage: row.usage
      ? {
          input_tokens: row.usage.inputTokens,
          output_tokens: row.usage.outputTokens,
          cache_read_tokens: row.usage.cacheReadTokens,
          cache_write_tokens: row.usage.cacheWriteTokens,
        }
      : null,
  };
};

/**
 * A stored ledger row in its public shape.
 *
 * @example ledgerEntry(row) // { type: 'usage', id: 'req_…', status: 'final', cost_usd: '0.0105', … }
 */
export const ledgerEntry = (row: LedgerRow): LedgerEntry =>
  row.kind === 'adjustment'
    ? {
        type: 'adjustment',
        id: row.adjustmentId,
        at: row.at,
        amount_usd: formatUsd(row.amount),
        amount_nano: row.amount,
        reason: row.reason,
        payment: row.payment
          ? {
              charge_id: row.payment.chargeId ?? null,
              payment_intent_id: row.payment.paymentIntentId ?? null,
              dispute_id: row.payment.disputeId ?? null,
            }
          : null,
      }
    : row.kind === 'topup'
      ? {
          type: 'topup',
          id: row.topUpId,
          at: row.at,
          amount_usd: formatUsd(row.amount),
          amount_nano: row.amount,
          payment: row.payment
            ? {
                session_id: row.payment.sessionId,
                payment_intent_id: row.payment.paymentIntentId ?? null,
                receipt_url: row.payment.receiptUrl ?? null,
              }
            : null,
        }
      : usageEntry(row);

/** A page of stored rows (newest first) in its public shape. */
/**
 * `GET /v1/generation`: one request's ledger row as `/v1/wallet` shows it, in OpenRouter's `data`
 * envelope, with its settled cost also as `total_cost` (USD, a JSON number; null while pending).
 */
export const generationView = (row: UsageRow) => ({
  data: { ...ledgerEntry(row), total_cost: row.cost === undefined ? null : usdNumber(row.cost) },
});

export const ledgerPage = (rows: readonly LedgerRow[], nextCursor: string | undefined): LedgerPage => ({
  data: rows.map(ledgerEntry),
  has_more: nextCursor !== undefined,
  next_cursor: nextCursor ?? null,
});

/**
 * The body of `GET /v1/wallet`: the key's account balance and a page of its ledger, newest first —
 * the truth behind a "wallet page".
 */
export const walletView = (wallet: Wallet, rows: readonly LedgerRow[], nextCursor: string | undefined) => {
  const { account, ...amounts } = walletSummary(wallet);
  return {
    object: 'wallet' as const,
    account,
    currency: 'USD' as const,
    ...amounts,
    ledger: ledgerPage(rows, nextCursor),
  };
};
