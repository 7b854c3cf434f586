/**
 * What an account spent, by UTC day, by model and by key: the data behind the console's wallet and
 * API Keys pages. A day is summed from its ledger rows once it can no longer change and the sums
 * are stored (store/rollups.ts), so a page over the last month reads one query of stored roll-ups
 * plus the rows of the days still open (today), never the whole month's rows on every load.
 *
 * Every sum of nano-USD is a bigint and leaves as an exact decimal string (`*_nano`) with its USD
 * twin (`*_usd`, {@link formatUsd}): a day of a busy account may cost more than 2^53 − 1 nano-USD.
 */
import { formatUsd } from '../gateway/money.ts';
import { DEFAULT_HOLD_EXPIRY_MS } from '../gateway/sweep.ts';
import type { TokenUsage } from '../gateway/wallet-view.ts';
import type { DayRollup, SpendRow } from '../store/rollups.ts';
import type { WalletStore } from '../store/wallets.ts';
import { requireWallet } from './accounts.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { InvalidInputError } from './errors.ts';
import { checkAccountId, parseDay } from './validate.ts';

/** The most days one {@link spendByDay} covers: a quarter. */
export const SPEND_DAYS_MAX = 93;
/**
 * A day closes this long after its holds have expired. A hold written on a day may settle until
 * the hold expiry after the day ends; the margin covers clocks that differ and writes that retry.
 */
export const ROLLUP_CLOSE_MARGIN_MS = 60 * 60_000;
/** Open days read at once (each one query, page after page). */
const LIVE_DAY_CONCURRENCY = 8;
const DAY_MS = 86_400_000;

/** The proxy's smaller wallet store does: only the wallet's existence is read. */
export type SpendDeps = ServiceDeps<'rollups'> & { wallets: Pick<WalletStore, 'get'> };

/** The days to sum: from and to inclusive, UTC `YYYY-MM-DD`. */
export interface SpendQuery {
  accountId: string;
  from: string;
  to: string;
  /**
   * How long a hold may stay open (the gateway's `TOLLGATE_HOLD_EXPIRY`, `config.holdExpiryMs`):
   * a day closes this long after it ended, plus {@link ROLLUP_CLOSE_MARGIN_MS}. Default
   * `DEFAULT_HOLD_EXPIRY_MS`.
   */
  holdExpiryMs?: number;
}

/** One model's requests: every usage row, pending or final; the cost is what settled. */
export interface ModelSpend {
  model: string;
  requests: number;
  cost_usd: string;
  /** Exact nano-USD, a decimal string. */
  cost_nano: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

/** One key's requests. */
export interface KeySpend {
  key_id: string;
  requests: number;
  cost_usd: string;
  cost_nano: string;
  /** The time of the key's latest request. */
  last_at: string;
}

/** Sums over some of an account's ledger rows. */
export interface SpendSummary {
  /** Usage rows, pending ones included. */
  requests: number;
  /** Σ settled costs. */
  cost_usd: string;
  cost_nano: string;
  usage: TokenUsage;
  /** Usage rows whose hold is still open, and what they hold. */
  pending: number;
  held_usd: string;
  held_nano: string;
  top_ups: number;
  top_ups_usd: string;
  top_ups_nano: string;
  /** Sorted by model. */
  models: ModelSpend[];
  /** Sorted by key id. */
  keys: KeySpend[];
}

/** One UTC day. */
export interface DaySpend extends SpendSummary {
  day: string;
  /** True when the day can no longer change (its roll-up is stored); false for today or a day with an open hold. */
  closed: boolean;
}

/** A period's sums: {@link spendTotals}. */
export interface SpendTotals extends SpendSummary {
  /** The first and last day summed; null when none was. */
  from: string | null;
  to: string | null;
  days: number;
}

/** One key's activity: {@link keyActivity}. */
export interface KeyActivity {
  key_id: string;
  /** `YYYY-MM`. */
  month: string;
  month_requests: number;
  month_cost_usd: string;
  month_cost_nano: string;
  /** The key's latest request in the days given. */
  last_at: string;
}

/** Adds token counts, refusing a sum a number would round (never seen: 2^53 tokens). */
const plus = (a: number, b: number): number => {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new RangeError(`A token count of ${BigInt(a) + BigInt(b)} is beyond 2^53 − 1`);
  return sum;
};

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface ModelTally {
  requests: number;
  cost: bigint;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

interface KeyTally {
  requests: number;
  cost: bigint;
  lastAt: string;
}

/** Sums being made: of a day's rows, or of days. Costs are bigints, so the sums are exact. */
class Tally {
  pending = 0;
  held = 0n;
  topUps = 0;
  topUpAmount = 0n;
  readonly models = new Map<string, ModelTally>();
  readonly keys = new Map<string, KeyTally>();

  addModel(model: string, add: ModelTally): void {
    const sum = this.models.get(model);
    if (!sum) {
      this.models.set(model, { ...add });
      return;
    }
    sum.requests += add.requests;
    sum.cost += add.cost;
    sum.inputTokens = plus(sum.inputTokens, add.inputTokens);
    sum.outputTokens = plus(sum.outputTokens, add.outputTokens);
    sum.cacheReadTokens = plus(sum.cacheReadTokens, add.cacheReadTokens);
    sum.cacheWriteTokens = plus(sum.cacheWriteTokens, add.cacheWriteTokens);
  }

  addKey(keyId: string, add: KeyTally): void {
    const sum = this.keys.get(keyId);
    if (!sum) {
      this.keys.set(keyId, { ...add });
      return;
    }
    sum.requests += add.requests;
    sum.cost += add.cost;
    if (add.lastAt > sum.lastAt) sum.lastAt = add.lastAt;
  }

  addRow(row: SpendRow): void {
    if (row.kind === 'adjustment') return;
    if (row.kind === 'topup') {
      this.topUps += 1;
      this.topUpAmount += row.amount;
      return;
    }
    if (row.status === 'pending') {
      this.pending += 1;
      this.held += row.hold;
    }
    this.addModel(row.model, {
      requests: 1,
      cost: row.cost,
      inputTokens: row.usage?.inputTokens ?? 0,
      outputTokens: row.usage?.outputTokens ?? 0,
      cacheReadTokens: row.usage?.cacheReadTokens ?? 0,
      cacheWriteTokens: row.usage?.cacheWriteTokens ?? 0,
    });
    this.addKey(row.keyId, { requests: 1, cost: row.cost, lastAt: row.at });
  }

  addRollup(day: DayRollup): void {
    this.pending += day.pendingRows;
    this.held += BigInt(day.held);
    this.topUps += day.topUps;
    this.topUpAmount += BigInt(day.topUpAmount);
    for (const { model, cost, ...tokens } of day.models) this.addModel(model, { ...tokens, cost: BigInt(cost) });
    for (const { keyId, cost, ...rest } of day.keys) this.addKey(keyId, { ...rest, cost: BigInt(cost) });
  }

  addSummary(summary: SpendSummary): void {
    this.pending += summary.pending;
    this.held += BigInt(summary.held_nano);
    this.topUps += summary.top_ups;
    this.topUpAmount += BigInt(summary.top_ups_nano);
    for (const model of summary.models) {
      this.addModel(model.model, {
        requests: model.requests,
        cost: BigInt(model.cost_nano),
        inputTokens: model.input_tokens,
        outputTokens: model.output_tokens,
        cacheReadTokens: model.cache_read_tokens,
        cacheWriteTokens: model.cache_write_tokens,
      });
    }
    for (const key of summary.keys) {
      this.addKey(key.key_id, { requests: key.requests, cost: BigInt(key.cost_nano), lastAt: key.last_at });
    }
  }

  /** The roll-up record of `day` (what the store keeps). */
  rollup(day: string): DayRollup {
    return {
      day,
      pendingRows: this.pending,
      held: this.held.toString(),
      topUps: this.topUps,
      topUpAmount: this.topUpAmount.toString(),
      models: [...this.models]
        .sort(([a], [b]) => byName(a, b))
        .map(([model, sum]) => ({ model, ...sum, cost: sum.cost.toString() })),
      keys: [...this.keys]
        .sort(([a], [b]) => byName(a, b))
        .map(([keyId, sum]) => ({ keyId, ...sum, cost: sum.cost.toString() })),
    };
  }

  summary(): SpendSummary {
    const usage: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 };
    let requests = 0;
    let cost = 0n;
    const models: ModelSpend[] = [];
    for (const [model, sum] of [...this.models].sort(([a], [b]) => byName(a, b))) {
      requests += sum.requests;
      cost += sum.cost;
      usage.input_tokens = plus(usage.input_tokens, sum.inputTokens);
      usage.output_tokens = plus(usage.output_tokens, sum.outputTokens);
      usage.cache_read_tokens = plus(usage.cache_read_tokens, sum.cacheReadTokens);
      usage.cache_write_tokens = plus(usage.cache_write_tokens, sum.cacheWriteTokens);
      models.push({
        model,
        requests: sum.requests,
        cost_usd: formatUsd(sum.cost),
        cost_nano: sum.cost.toString(),
        input_tokens: sum.inputTokens,
        output_tokens: sum.outputTokens,
        cache_read_tokens: sum.cacheReadTokens,
        cache_write_tokens: sum.cacheWriteTokens,
      });
    }
    const keys = [...this.keys]
      .sort(([a], [b]) => byName(a, b))
      .map(([keyId, sum]) => ({
        key_id: keyId,
        requests: sum.requests,
        cost_usd: formatUsd(sum.cost),
        cost_nano: sum.cost.toString(),
        last_at: sum.lastAt,
      }));
    return {
      requests,
      cost_usd: formatUsd(cost),
      cost_nano: cost.toString(),
      usage,
      pending: this.pending,
      held_usd: formatUsd(this.held),
      held_nano: this.held.toString(),
      top_ups: this.topUps,
      top_ups_usd: formatUsd(this.topUpAmount),
      top_ups_nano: this.topUpAmount.toString(),
      models,
      keys,
    };
  }
}

/** A day's rows summed up: what {@link spendByDay} stores for a closed day. */
export const rollupOf = (day: string, rows: readonly SpendRow[]): DayRollup => {
  const tally = new Tally();
  for (const row of rows) tally.addRow(row);
  return tally.rollup(day);
};

const daySpend = (rollup: DayRollup, closed: boolean): DaySpend => {
  const tally = new Tally();
  tally.addRollup(rollup);
  return { day: rollup.day, closed, ...tally.summary() };
};

const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`);

/** Checks a {@link SpendQuery} without reading anything: real days, from ≤ to, at most {@link SPEND_DAYS_MAX}. */
export const checkSpendQuery = (
  query: SpendQuery,
): { accountId: string; from: string; to: string; days: string[]; holdExpiryMs: number } => {
  const accountId = checkAccountId(query.accountId);
  const from = parseDay(query.from, 'from');
  const to = parseDay(query.to, 'to');
  if (from > to) throw new InvalidInputError(`Invalid range: from (${from}) is after to (${to})`);
  const count = (dayStart(to) - dayStart(from)) / DAY_MS + 1;
  if (count > SPEND_DAYS_MAX) {
    throw new InvalidInputError(`Invalid range ${from} to ${to}: ${count} days, at most ${SPEND_DAYS_MAX} at once`);
  }
  const holdExpiryMs = query.holdExpiryMs ?? DEFAULT_HOLD_EXPIRY_MS;
  if (!Number.isSafeInteger(holdExpiryMs) || holdExpiryMs < 0) {
    throw new InvalidInputError(`Invalid hold expiry ${holdExpiryMs}: a whole number of milliseconds, 0 or more`);
  }
  const days = Array.from({ length: count }, (_, index) =>
    new Date(dayStart(from) + index * DAY_MS).toISOString().slice(0, 10),
  );
  return { accountId, from, to, days, holdExpiryMs };
};

/**
 * The account's spend for every UTC day from `from` to `to` (inclusive, at most
 * {@link SPEND_DAYS_MAX}), oldest first; a day without rows is there with zeros. Per day: requests,
 * settled cost and tokens by model, requests, cost and last request by key, the pending rows and
 * what they hold, and top-ups apart.
 *
 * Stored roll-ups are read in one query. A day not stored is summed from its rows (only the
 * attributes needed); when it is closed — it ended more than the hold expiry +
 * {@link ROLLUP_CLOSE_MARGIN_MS} ago, so no hold of it can still settle, and none is pending — its
 * roll-up is stored, once (a conditional put), and later reads take it from there. Today, and a
 * day whose hold is stuck pending (the sweeper has not run), are summed live on every call and
 * never stored. The clock is `deps.now`.
 *
 * @example
 * const days = await spendByDay(stores, { accountId: 'acme', from: '2026-11-04', to: '2026-12-03' });
 * days[29] // { day: '2026-12-03', closed: false, requests: 12, cost_usd: '0.42', cost_nano: '420000000', models: [...], … }
 */
export const spendByDay = async (deps: SpendDeps, query: SpendQuery): Promise<DaySpend[]> => {
  const { accountId, from, to, days, holdExpiryMs } = checkSpendQuery(query);
  const now = clock(deps);
  const [stored] = await Promise.all([deps.rollups.storedDays(accountId, from, to), requireWallet(deps, accountId)]);
  const spent = new Map(stored.map((rollup) => [rollup.day, daySpend(rollup, true)]));
  const open = days.filter((day) => !spent.has(day));
  const sumDay = async (day: string): Promise<void> => {
    const rollup = rollupOf(day, await deps.rollups.dayRows(accountId, day));
    const closed =
      rollup.pendingRows === 0 && now.getTime() >= dayStart(day) + DAY_MS + holdExpiryMs + ROLLUP_CLOSE_MARGIN_MS;
    if (closed) await deps.rollups.storeDay(accountId, rollup, now);
    spent.set(day, daySpend(rollup, closed));
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < open.length) await sumDay(open[next++] as string);
  };
  await Promise.all(Array.from({ length: Math.min(LIVE_DAY_CONCURRENCY, open.length) }, worker));
  return days.map((day) => spent.get(day) as DaySpend);
};

/**
 * The sums of some days (of {@link spendByDay}): totals, by model and by key, exact at any size.
 *
 * @example spendTotals(days) // { from: '2026-11-04', to: '2026-12-03', days: 30, cost_usd: '812.40', models: [...], keys: [...], … }
 */
export const spendTotals = (days: readonly DaySpend[]): SpendTotals => {
  const tally = new Tally();
  for (const day of days) tally.addSummary(day);
  const sorted = days.map((day) => day.day).sort(byName);
  return { from: sorted[0] ?? null, to: sorted.at(-1) ?? null, days: days.length, ...tally.summary() };
};

const MONTH = /^\d{4}-\d{2}$/;

/**
 * Each key's spend in one month and its latest request, from some days (of {@link spendByDay}),
 * sorted by key id: the API Keys page's "this month" and "last used". `month` (`YYYY-MM`) defaults
 * to the month of the latest day given; `last_at` looks at every day given. A key with no request
 * in those days is not listed.
 *
 * @example keyActivity(days) // [{ key_id: 'key_…', month: '2026-12', month_requests: 40, month_cost_usd: '1.20', last_at: '2026-12-03T09:12:00.000Z', … }]
 */
export const keyActivity = (days: readonly DaySpend[], { month }: { month?: string } = {}): KeyActivity[] => {
  if (month !== undefined && !MONTH.test(month)) {
    throw new InvalidInputError(`Invalid month '${month}': use YYYY-MM, e.g. 2026-11`);
  }
  const latest = days
    .map((day) => day.day)
    .sort(byName)
    .at(-1);
  const shown = month ?? latest?.slice(0, 7) ?? '';
  const inMonth = new Tally();
  const all = new Tally();
  for (const day of days) {
    all.addSummary(day);
    if (day.day.startsWith(`${shown}-`)) inMonth.addSummary(day);
  }
  return all.summary().keys.map((key) => {
    const spent = inMonth.keys.get(key.key_id);
    const cost = spent?.cost ?? 0n;
    return {
      key_id: key.key_id,
      month: shown,
      month_requests: spent?.requests ?? 0,
      month_cost_usd: formatUsd(cost),
      month_cost_nano: cost.toString(),
      last_at: key.last_at,
    };
  });
};
