import type { WalletStore } from '../store/wallets.ts';
import type { KeyRecord, LimitReset } from '../vocabulary.ts';
import { formatUsd, usdNumber } from './money.ts';

/**
 * A key's spend limit (DESIGN §4, issue 14): the key may spend at most `spendLimit` nano-USD per
 * period. Each period of each key has one spend row in the account's ledger partition
 * (`keyspend#<keyId>#<reset>#<start>`, outside every ledger read), counting `used = spent + held`.
 * A hold raises `used` inside the wallet's own transaction, on the condition that it stays within
 * the limit; the settle moves the hold to the cost. A request counts in the period it was held in.
 */

/** One period of a key's spend limit, in UTC. */
export interface LimitPeriod {
  reset: LimitReset;
  /** The period's first day (`YYYY-MM-DD`); undefined for `never`. */
  start?: string;
  /** When the next period starts (ISO instant); undefined for `never`. */
  endsAt?: string;
}

const DAY_MS = 86_400_000;

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The period of `reset` that `at` falls in: UTC days, weeks from Monday, calendar months.
 *
 * @example limitPeriod('weekly', new Date('2026-12-03T10:00:00Z')) // { reset: 'weekly', start: '2026-11-30', endsAt: '2026-12-07T00:00:00.000Z' }
 */
export const limitPeriod = (reset: LimitReset, at: Date): LimitPeriod => {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  switch (reset) {
    case 'daily':
      return { reset, start: isoDay(day), endsAt: new Date(day + DAY_MS).toISOString() };
    case 'weekly': {
      const monday = day - ((at.getUTCDay() + 6) % 7) * DAY_MS;
      return { reset, start: isoDay(monday), endsAt: new Date(monday + 7 * DAY_MS).toISOString() };
    }
    case 'monthly': {
      const first = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
      const next = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
      return { reset, start: isoDay(first), endsAt: new Date(next).toISOString() };
    }
    case 'never':
      return { reset };
  }
};

/** The reset of a key with a limit (`never` when none was given). */
export const limitResetOf = (key: Pick<KeyRecord, 'limitReset'>): LimitReset => key.limitReset ?? 'never';

/** Sort key of a key's spend row for one period, in the account's ledger partition. */
export const keyBudgetSk = (keyId: string, period: LimitPeriod): string =>
  `keyspend#${keyId}#${period.reset}${period.start === undefined ? '' : `#${period.start}`}`;

/** The spend row's sort-key prefix of every period of a key. */
export const keyBudgetPrefix = (keyId: string): string => `keyspend#${keyId}#`;

const PER: Record<LimitReset, string> = { daily: 'per day', weekly: 'per week', monthly: 'per month', never: 'in all' };

/** "$20.00 per month", "$5.00 in all". */
export const describeLimit = (limit: number, reset: LimitReset): string => `$${formatUsd(limit)} ${PER[reset]}`;

const RAISE = "Raise the key's limit on API Keys";

/**
 * The 402 when a hold would take a key past its limit. Distinct from the wallet's "Insufficient
 * balance" message: the account may have plenty, this key may not spend it.
 *
 * @example keyLimitMessage({ limit: 20e9, reset: 'monthly', used: 19.98e9, hold: 50e6 })
 * // "Key limit reached: this key may spend $20.00 per month; $19.98 is used or held, and this request needs $0.05. …"
 */
export const keyLimitMessage = ({
  limit,
  reset,
  used,
  hold,
  endsAt,
}: {
  limit: number;
  reset: LimitReset;
  used: number;
  hold: number;
  endsAt?: string;
}): string => {
  const resets = endsAt === undefined ? '' : ` It resets at ${endsAt.replace('.000Z', 'Z')}.`;
  if (hold > limit) {
    return (
      `Key limit reached: this key may spend ${describeLimit(limit, reset)}, and this request alone needs ` +
      `$${formatUsd(hold)} held (its max tokens at the model's price). Lower max tokens, or raise the key's limit on API Keys.`
    );
  }
  return (
    `Key limit reached: this key may spend ${describeLimit(limit, reset)}; $${formatUsd(used)} is used or held, ` +
    `and this request needs $${formatUsd(hold)} held.${resets} ${RAISE}, or lower max tokens.`
  );
};

/** A key's limit as it stands in the current period: what `GET /v1/key` and the API Keys page show. */
export interface KeyLimitState {
  /** nano-USD per period. */
  limit: number;
  period: LimitPeriod;
  /** Settled costs of the period's requests. */
  spent: number;
  /** Holds of the period's requests still open. */
  held: number;
  /** What the limit leaves: limit − spent − held, at least 0. */
  remaining: number;
}

/** The key's limit in the period `now` falls in; undefined for a key without a spend limit. */
export const keyLimitState = async (
  wallets: Pick<WalletStore, 'keySpend'>,
  key: Pick<KeyRecord, 'accountId' | 'keyId' | 'spendLimit' | 'limitReset'>,
  now: Date,
): Promise<KeyLimitState | undefined> => {
  if (key.spendLimit === undefined) return undefined;
  const period = limitPeriod(limitResetOf(key), now);
  const spend = await wallets.keySpend(key.accountId, keyBudgetSk(key.keyId, period));
  const spent = spend?.spent ?? 0;
  const held = spend?.held ?? 0;
  return { limit: key.spendLimit, period, spent, held, remaining: Math.max(0, key.spendLimit - spent - held) };
};

/** What a key spent (settled, nano-USD): in all, and in the current UTC day, week (from Monday) and month. */
export interface KeyUsage {
  total: number;
  daily: number;
  weekly: number;
  monthly: number;
}

/** Reads a {@link KeyUsage} (services/keys.ts `keyUsage`, from the daily roll-ups). */
export type KeyUsageReader = (key: KeyRecord, now: Date) => Promise<KeyUsage>;

/**
 * `GET /v1/key`: the calling key, in the field names of OpenRouter's `GET /api/v1/key` (`data.limit`,
 * `limit_remaining`, `limit_reset`, `usage`, `usage_daily|weekly|monthly`, `rate_limit`,
 * `expires_at`) as USD numbers, each amount also as exact `*_usd` (decimal string) and `*_nano`.
 */
export const keyView = (key: KeyRecord, limit: KeyLimitState | undefined, usage: KeyUsage) => ({
  data: {
    key_id: key.keyId,
    name: key.name ?? null,
    label: `${key.prefix}…`,
    limit: limit === undefined ? null : usdNumber(limit.limit),
    limit_usd: limit === undefined ? null : formatUsd(limit.limit),
    limit_nano: limit?.limit ?? null,
    limit_remaining: limit === undefined ? null : usdNumber(limit.remaining),
    limit_remaining_usd: limit === undefined ? null : formatUsd(limit.remaining),
    limit_remaining_nano: limit?.remaining ?? null,
    limit_reset: limit === undefined || limit.period.reset === 'never' ? null : limit.period.reset,
    limit_spent_usd: limit === undefined ? null : formatUsd(limit.spent),
    limit_spent_nano: limit?.spent ?? null,
    limit_held_usd: limit === undefined ? null : formatUsd(limit.held),
    limit_held_nano: limit?.held ?? null,
    limit_period_started_at: limit?.period.start === undefined ? null : `${limit.period.start}T00:00:00.000Z`,
    limit_resets_at: limit?.period.endsAt ?? null,
    usage: usdNumber(usage.total),
    usage_usd: formatUsd(usage.total),
    usage_nano: usage.total,
    usage_daily: usdNumber(usage.daily),
    usage_daily_usd: formatUsd(usage.daily),
    usage_daily_nano: usage.daily,
    usage_weekly: usdNumber(usage.weekly),
    usage_weekly_usd: formatUsd(usage.weekly),
    usage_weekly_nano: usage.weekly,
    usage_monthly: usdNumber(usage.monthly),
    usage_monthly_usd: formatUsd(usage.monthly),
    usage_monthly_nano: usage.monthly,
    is_free_tier: false,
    rate_limit: key.rpm === undefined ? null : { requests: key.rpm, interval: '1m' },
    rpm: key.rpm ?? null,
    tpm: key.tpm ?? null,
    models: key.models ?? null,
    expires_at: key.expiresAt ?? null,
    created_at: key.createdAt,
  },
});
