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

/**
 * Sums over the rows of one page, not the whole ledger. Amounts are exact USD strings only: a page
 * of a thousand $1,000,000 top-ups adds up past what a JSON number holds exactly, so sums carry no
 * `_nano` twin (see gateway/wallet-view.ts).
 */
export interface UsageTotals {
  requests: number;
  pending: number;
  cost_usd: string;
  /** Held by the pending rows of the page. */
  held_usd: string;
  top_ups: number;
  top_ups_usd: string;
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
  let cost = 0n;
  let held = 0n;
  let topUps = 0;
  let topUpAmount = 0n;
  for (const entry of entries) {
    if (entry.type === 'topup') {
      topUps += 1;
      topUpAmount += BigInt(entry.amount_nano);
      continue;
    }
    requests += 1;
    if (entry.cost_nano === null) {
      pending += 1;
      held += BigInt(entry.hold_nano);
    } else cost += BigInt(entry.cost_nano);
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
    held_usd: formatUsd(held),
    top_ups: topUps,
    top_ups_usd: formatUsd(topUpAmount),
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
