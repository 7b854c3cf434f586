import { formatUsd } from '../gateway/money.ts';
import { type LedgerEntry, type LedgerPage, ledgerPage, type TokenUsage } from '../gateway/wallet-view.ts';
import { requireWallet } from './accounts.ts';
import type { ServiceDeps } from './deps.ts';
import { checkAccountId, checkPositiveInteger, parseCursor, parseSince } from './validate.ts';

export const USAGE_LIMIT_DEFAULT = 50;
export const USAGE_LIMIT_MAX = 1_000;

export type UsageDeps = ServiceDeps<'wallets'>;

/** Which page of an account's ledger to read. */
export interface UsageQuery {
  accountId: string;
  /** An ISO-8601 date (midnight UTC) or date-time: only rows at or after it. */
  since?: string;
  /** Rows per page, 1–1000 (default 50). */
  limit?: number;
  /** The `next_cursor` of the previous page, read with the same `since`; null or absent: the first page. */
  cursor?: string | null;
}

/** Sums over the rows of one page, not the whole ledger. */
export interface UsageTotals {
  requests: number;
  pending: number;
  cost_usd: string;
  cost_nano: number;
  /** Held by the pending rows of the page. */
  held_usd: string;
  held_nano: number;
  top_ups: number;
  top_ups_usd: string;
  top_ups_nano: number;
  usage: TokenUsage;
}

/** One page of an account's ledger, newest first: the rows in their one public shape, and totals. */
export interface UsageListing {
  account: string;
  /** The `since` bound as applied (UTC), or null. */
  since: string | null;
  limit: number;
  ledger: LedgerPage;
  totals: UsageTotals;
}

/** Checks a {@link UsageQuery} without reading anything: `since` normalized to UTC, the default limit filled in. */
export const checkUsageQuery = (
  query: UsageQuery,
): { accountId: string; since?: string; limit: number; cursor?: string } => ({
  accountId: checkAccountId(query.accountId),
  limit: query.limit === undefined ? USAGE_LIMIT_DEFAULT : checkPositiveInteger(query.limit, 'limit', USAGE_LIMIT_MAX),
  ...(query.since === undefined ? {} : { since: parseSince(query.since) }),
  ...(query.cursor === undefined || query.cursor === null ? {} : { cursor: parseCursor(query.cursor) }),
});

const totalsOf = (entries: readonly LedgerEntry[]): UsageTotals => {
  const usage: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 };
  let requests = 0;
  let pending = 0;
  let cost = 0;
  let held = 0;
  let topUps = 0;
  let topUpAmount = 0;
  for (const entry of entries) {
    if (entry.type === 'topup') {
      topUps += 1;
      topUpAmount += entry.amount_nano;
      continue;
    }
    requests += 1;
    if (entry.cost_nano === null) {
      pending += 1;
      held += entry.hold_nano;
    } else cost += entry.cost_nano;
    if (entry.usage) {
      usage.input_tokens += entry.usage.input_tokens;
      usage.output_tokens += entry.usage.output_tokens;
      usage.cache_read_tokens += entry.usage.cache_read_tokens;
      usage.cache_write_tokens += entry.usage.cache_write_tokens;
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
    usage,
  };
};

/**
 * One page of the account's ledger, newest first: requests (tokens, cost or open hold, outcome) and
 * top-ups, with totals over the page. The query is checked before any read; an unknown account is
 * a {@link NotFoundError}, not an empty page.
 *
 * @example
 * const page = await listUsage(stores, { accountId: 'acme', since: '2026-11-01', limit: 20 });
 * page.ledger.data[0] // { type: 'usage', id: 'req_…', outcome: 'completed', cost_usd: '0.0105', … }
 * await listUsage(stores, { accountId: 'acme', since: '2026-11-01', limit: 20, cursor: page.ledger.next_cursor })
 */
export const listUsage = async (deps: UsageDeps, query: UsageQuery): Promise<UsageListing> => {
  const { accountId, since, limit, cursor } = checkUsageQuery(query);
  const page = await deps.wallets.ledger(accountId, {
    limit,
    ...(since === undefined ? {} : { since }),
    ...(cursor === undefined ? {} : { cursor }),
  });
  // An empty first page may be a typo in the account id: say so rather than "no rows".
  if (page.rows.length === 0 && cursor === undefined) await requireWallet(deps, accountId);
  const ledger = ledgerPage(page.rows, page.nextCursor);
  return { account: accountId, since: since ?? null, limit, ledger, totals: totalsOf(ledger.data) };
};
