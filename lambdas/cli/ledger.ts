import { formatUsd } from '../gateway/money.ts';
import { FULL_PRICE_PPM } from '../gateway/pricing.ts';
import { checkAccountId, parseCursor, parseLimit, parseSince } from '../services/validate.ts';
import type { Stores } from '../store/index.ts';
import type { LedgerRow, Outcome, UsageRow } from '../vocabulary.ts';
import { requireAccount } from './accounts.ts';
import { formatPpm } from './format.ts';

export const USAGE_LIMIT_DEFAULT = 50;
export const USAGE_LIMIT_MAX = 1_000;

export interface TokenCounts {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

/** A request's ledger row: its hold while pending, its cost once final. */
export interface UsageEntry {
  kind: 'usage';
  at: string;
  request_id: string;
  /** The model billed: the route that answered. */
  model: string;
  /** The model first routed to, when a fallback route answered instead; else null. */
  fallback_from: string | null;
  provider: string;
  key_id: string;
  status: 'pending' | 'final';
  /** The outcome once final; `pending` while the hold is open. */
  outcome: Outcome | 'pending';
  /** Normalized tokens (input excludes cache reads and writes); null while pending. */
  tokens: TokenCounts | null;
  hold_usd: string;
  hold_nano: number;
  /** null while pending. */
  cost_usd: string | null;
  cost_nano: number | null;
  /** Fraction of list price charged: "1" = no discount. */
  discount: string;
  /** True when the upstream reported no usage and the cost is the documented estimate. */
  estimated: boolean;
}

export interface TopUpEntry {
  kind: 'topup';
  at: string;
  top_up_id: string;
  amount_usd: string;
  amount_nano: number;
}

export type LedgerEntry = UsageEntry | TopUpEntry;

/** Sums over the rows shown (one page), not the whole ledger. */
export interface UsageTotals {
  requests: number;
  pending: number;
  cost_usd: string;
  cost_nano: number;
  /** Held by the pending rows shown. */
  held_usd: string;
  held_nano: number;
  top_ups: number;
  top_ups_usd: string;
  top_ups_nano: number;
  tokens: TokenCounts;
}

export interface UsageListing {
  account: string;
  /** The `--since` bound as applied (UTC), or null. */
  since: string | null;
  limit: number;
  /** Newest first. */
  rows: LedgerEntry[];
  totals: UsageTotals;
  /** Pass as `--cursor` (with the same `--since`) for the next, older page; null on the last page. */
  next_cursor: string | null;
}

export interface UsageOptions {
  /** ISO-8601 date or date-time: only rows at or after it. */
  since?: string;
  /** Rows per page, 1–1000 (default 50). */
  limit?: string;
  /** The `next_cursor` of the previous page. */
  cursor?: string;
}

const usageEntry = (row: UsageRow): UsageEntry => {
  const final = row.status === 'final';
  const cost = final ? (row.cost ?? 0) : null;
  return {
    kind: 'usage',
    at: row.at,
    request_id: row.requestId,
    model: row.model,
    fallback_from: row.fallbackFrom ?? null,
    provider: row.provider,
    key_id: row.keyId,
    status: row.status,
    outcome: final ? (row.outcome ?? 'completed') : 'pending',
    tokens:
      final && row.usage
        ? {
            input: row.usage.inputTokens,
            output: row.usage.outputTokens,
            cache_read: row.usage.cacheReadTokens,
            cache_write: row.usage.cacheWriteTokens,
          }
        : null,
    hold_usd: formatUsd(row.hold),
    hold_nano: row.hold,
    cost_usd: cost === null ? null : formatUsd(cost),
    cost_nano: cost,
    discount: formatPpm(row.discountPpm ?? FULL_PRICE_PPM),
    estimated: row.estimated === true,
  };
};

const ledgerEntry = (row: LedgerRow): LedgerEntry =>
  row.kind === 'topup'
    ? { kind: 'topup', at: row.at, top_up_id: row.topUpId, amount_usd: formatUsd(row.amount), amount_nano: row.amount }
    : usageEntry(row);

const totalsOf = (entries: readonly LedgerEntry[]): UsageTotals => {
  const tokens: TokenCounts = { input: 0, output: 0, cache_read: 0, cache_write: 0 };
  let requests = 0;
  let pending = 0;
  let cost = 0;
  let held = 0;
  let topUps = 0;
  let topUpAmount = 0;
  for (const entry of entries) {
    if (entry.kind === 'topup') {
      topUps += 1;
      topUpAmount += entry.amount_nano;
      continue;
    }
    requests += 1;
    if (entry.cost_nano === null) {
      pending += 1;
      held += entry.hold_nano;
    } else cost += entry.cost_nano;
    if (entry.tokens) {
      tokens.input += entry.tokens.input;
      tokens.output += entry.tokens.output;
      tokens.cache_read += entry.tokens.cache_read;
      tokens.cache_write += entry.tokens.cache_write;
    }
  }
  return {
    requests,
    pending,
    cost_usd: formatUsd(cost),
    cost_nano: cost,
    held_usd: formatUsd(held),
    held_nano: held,
    top_ups: topUps,
    top_ups_usd: formatUsd(topUpAmount),
    top_ups_nano: topUpAmount,
    tokens,
  };
};

/** The options checked and normalized; a usage error when one is malformed. */
export const checkUsageOptions = (options: UsageOptions): { since?: string; limit: number; cursor?: string } => ({
  limit: options.limit === undefined ? USAGE_LIMIT_DEFAULT : parseLimit(options.limit, '--limit', USAGE_LIMIT_MAX),
  ...(options.since === undefined ? {} : { since: parseSince(options.since) }),
  ...(options.cursor === undefined ? {} : { cursor: parseCursor(options.cursor) }),
});

/**
 * One page of the account's ledger, newest first: requests (tokens, cost or open hold, outcome) and
 * top-ups, with totals over the page. Options are checked before any read.
 *
 * @example
 * const page = await listUsage(stores, 'acme', { since: '2026-11-01', limit: '20' });
 * page.rows[0] // { kind: 'usage', request_id: 'req_…', outcome: 'completed', cost_usd: '0.0105', … }
 * await listUsage(stores, 'acme', { since: '2026-11-01', limit: '20', cursor: page.next_cursor ?? undefined })
 */
export const listUsage = async (stores: Stores, account: string, options: UsageOptions = {}): Promise<UsageListing> => {
  checkAccountId(account);
  const { since, limit, cursor } = checkUsageOptions(options);
  const page = await stores.wallets.ledger(account, {
    limit,
    ...(since === undefined ? {} : { since }),
    ...(cursor === undefined ? {} : { cursor }),
  });
  // An empty first page may be a typo in the account id: say so rather than "no rows".
  if (page.rows.length === 0 && cursor === undefined) await requireAccount(stores, account);
  const rows = page.rows.map(ledgerEntry);
  return {
    account,
    since: since ?? null,
    limit,
    rows,
    totals: totalsOf(rows),
    next_cursor: page.nextCursor ?? null,
  };
};
