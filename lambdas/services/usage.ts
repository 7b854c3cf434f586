import { formatUsd, sumNano } from '../gateway/money.ts';
import { type LedgerEntry, type LedgerPage, ledgerPage, type TokenUsage } from '../gateway/wallet-view.ts';
import { LEDGER_EVALUATION_BUDGET, type LedgerRange } from '../store/wallets.ts';
import { requireWallet } from './accounts.ts';
import type { ServiceDeps } from './deps.ts';
import { InvalidInputError } from './errors.ts';
import { checkAccountId, checkPositiveInteger, parseCursor, parseSince, parseUntil } from './validate.ts';

export const USAGE_LIMIT_DEFAULT = 50;
export const USAGE_LIMIT_MAX = 1_000;
/**
 * Rows DynamoDB evaluates at most for one page of a listing filtered by key or model: a page may
 * then hold fewer than `limit` rows (even none) and still have a `next_cursor` to search on from.
 */
export const USAGE_EVALUATION_BUDGET = LEDGER_EVALUATION_BUDGET;

export type UsageDeps = ServiceDeps<'wallets'>;

/** Which of an account's ledger rows to read: a time range and filters, all optional. */
export interface UsageRange {
  accountId: string;
  /** An ISO-8601 date (midnight UTC) or date-time: only rows at or after it. */
  since?: string;
  /** An ISO-8601 date (midnight UTC) or date-time: only rows before it. */
  until?: string;
  /** Only the requests of this key (`key_…`); top-ups belong to no key and are left out. */
  keyId?: string;
  /** Only the requests billed to this model (the route that answered); top-ups are left out. */
  model?: string;
}

/** Which page of an account's ledger to read. */
export interface UsageQuery extends UsageRange {
  /** Rows per page, 1–1000 (default 50). */
  limit?: number;
  /** The `next_cursor` of the previous page, read with the same range and filters; null or absent: the first page. */
  cursor?: string | null;
}

/**
 * Sums over the rows of one page, not the whole ledger. A page of a thousand $1,000,000 top-ups adds
 * up past what a JSON number holds exactly, so a sum's `*_nano` is null there (`sumNano`); its
 * `*_usd` string is always exact.
 */
export interface UsageTotals {
  requests: number;
  pending: number;
  cost_usd: string;
  cost_nano: number | null;
  /** Held by the pending rows of the page. */
  held_usd: string;
  held_nano: number | null;
  top_ups: number;
  top_ups_usd: string;
  top_ups_nano: number | null;
  usage: TokenUsage;
}

/** One page of an account's ledger, newest first: the rows in their one public shape, and totals. */
export interface UsageListing {
  account: string;
  /** The `since` bound as applied (UTC), or null. */
  since: string | null;
  /** The `until` bound as applied (UTC, exclusive), or null. */
  until: string | null;
  /** The key filter, or null. */
  key_id: string | null;
  /** The model filter, or null. */
  model: string | null;
  limit: number;
  /**
   * With a key or model filter, a page holds the matches among at most {@link USAGE_EVALUATION_BUDGET}
   * rows: it may hold fewer than `limit` rows, even none, with `has_more` true.
   */
  ledger: LedgerPage;
  totals: UsageTotals;
}

/** A {@link UsageRange} checked: bounds normalized to UTC. */
export type CheckedRange = { accountId: string } & LedgerRange;

/** Key ids and model names as the ledger holds them: no spaces (route-spec.ts allows up to 256). */
const FILTER = /^\S{1,256}$/;

const checkFilter = (value: string, what: string, example: string): string => {
  if (!FILTER.test(value)) {
    throw new InvalidInputError(`Invalid ${what} '${value}': give it as listings show it, e.g. ${example}`);
  }
  return value;
};

/** Checks a {@link UsageRange} without reading anything; `until` must come after `since`. */
export const checkUsageRange = (range: UsageRange): CheckedRange => {
  const checked: CheckedRange = { accountId: checkAccountId(range.accountId) };
  if (range.since !== undefined) checked.since = parseSince(range.since);
  if (range.until !== undefined) checked.until = parseUntil(range.until);
  if (checked.since !== undefined && checked.until !== undefined && checked.since >= checked.until) {
    throw new InvalidInputError(
      `Invalid range: until (${checked.until}) must come after since (${checked.since}); until is exclusive`,
    );
  }
  if (range.keyId !== undefined) checked.keyId = checkFilter(range.keyId, 'key id', 'key_0123456789abcdef');
  if (range.model !== undefined) checked.model = checkFilter(range.model, 'model', 'gpt-4o');
  return checked;
};

/**
 * Checks a {@link UsageQuery} without reading anything: bounds normalized to UTC, the default limit
 * filled in, and a cursor refused when it lies outside the range (it came from another listing).
 */
export const checkUsageQuery = (query: UsageQuery): CheckedRange & { limit: number; cursor?: string } => {
  const checked: CheckedRange & { limit: number; cursor?: string } = {
    ...checkUsageRange(query),
    limit:
      query.limit === undefined ? USAGE_LIMIT_DEFAULT : checkPositiveInteger(query.limit, 'limit', USAGE_LIMIT_MAX),
  };
  if (query.cursor !== undefined && query.cursor !== null) {
    const cursor = parseCursor(query.cursor);
    // A cursor is a row's sort key, `<time>#…`: inside the range it sorts after `since`, before `until`.
    if (
      (checked.since !== undefined && cursor < checked.since) ||
      (checked.until !== undefined && cursor > checked.until)
    ) {
      throw new InvalidInputError(
        `Invalid cursor '${cursor}': it lies outside since/until; pass the next_cursor of a page read with the same range`,
      );
    }
    checked.cursor = cursor;
  }
  return checked;
};

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
    // Refunds and disputes move the balance, not the usage: the ledger and `audit` show them.
    if (entry.type === 'adjustment') continue;
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
    cost_nano: sumNano(cost),
    held_usd: formatUsd(held),
    held_nano: sumNano(held),
    top_ups: topUps,
    top_ups_usd: formatUsd(topUpAmount),
    top_ups_nano: sumNano(topUpAmount),
    usage,
  };
};

/**
 * One page of the account's ledger, newest first: requests (tokens, cost or open hold, outcome) and
 * top-ups, with totals over the page; optionally only rows in [since, until), of one key, of one
 * model. The query is checked before any read; an unknown account is a {@link NotFoundError}, not an
 * empty page.
 *
 * With a key or model filter the page holds the matches among at most
 * {@link USAGE_EVALUATION_BUDGET} rows read: fewer than `limit` (even none) with `has_more` true
 * means "more to search", and its `next_cursor` goes on from there.
 *
 * @example
 * const page = await listUsage(stores, { accountId: 'acme', since: '2026-11-01', until: '2026-12-01', model: 'gpt-4o' });
 * page.ledger.data[0] // { type: 'usage', id: 'req_…', model: 'gpt-4o', outcome: 'completed', cost_usd: '0.0105', … }
 * await listUsage(stores, { accountId: 'acme', since: '2026-11-01', until: '2026-12-01', model: 'gpt-4o', cursor: page.ledger.next_cursor })
 */
export const listUsage = async (deps: UsageDeps, query: UsageQuery): Promise<UsageListing> => {
  const { accountId, limit, cursor, ...range } = checkUsageQuery(query);
  const page = await deps.wallets.ledger(accountId, {
    limit,
    budget: USAGE_EVALUATION_BUDGET,
    ...range,
    ...(cursor === undefined ? {} : { cursor }),
  });
  // An empty first page may be a typo in the account id: say so rather than "no rows".
  if (page.rows.length === 0 && cursor === undefined) await requireWallet(deps, accountId);
  const ledger = ledgerPage(page.rows, page.nextCursor);
  return {
    account: accountId,
    since: range.since ?? null,
    until: range.until ?? null,
    key_id: range.keyId ?? null,
    model: range.model ?? null,
    limit,
    ledger,
    totals: totalsOf(ledger.data),
  };
};
