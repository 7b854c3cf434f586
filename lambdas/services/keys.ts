import {
  type KeyLimitState,
  type KeyUsage,
  type KeyUsageReader,
  keyBudgetSk,
  keyLimitState,
  limitPeriod,
  limitResetOf,
} from '../gateway/key-budget.ts';
import { keyRefusal, mintKey, type NewKeyOptions } from '../gateway/keys.ts';
import type { KeyChanges } from '../store/keys.ts';
import { type KeyRecord, LIMIT_RESETS, type LimitReset, MAX_BALANCE_NANO } from '../vocabulary.ts';
import { requireWallet } from './accounts.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { SPEND_DAYS_MAX, type SpendDeps, spendByDay } from './spend.ts';
import { checkAccountId, checkList, checkNano, checkPositiveInteger, parseExpiry } from './validate.ts';

export type KeysDeps = ServiceDeps<'keys' | 'wallets'>;
/** Setting a spend limit counts what the key spent earlier in the period (read from the ledger). */
export type KeyLimitDeps = ServiceDeps<'keys' | 'wallets'>;

/** A key to mint for an account. */
export interface NewKey {
  accountId: string;
  /** A label to tell keys apart, 1-128 characters. */
  name?: string;
  /** Model allow-list; absent: every routed model. */
  models?: readonly string[];
  /** ISO-8601 date or date-time in the future, after which the key is refused. */
  expiresAt?: string;
  /** Requests per minute, a whole number > 0; absent: unlimited. */
  rpm?: number;
  /** Tokens (input + output + cache) per minute, a whole number > 0; absent: unlimited. */
  tpm?: number;
  /** nano-USD the key may spend per `limitReset` period, > 0; absent: only the wallet limits it. */
  spendLimit?: number;
  /** When the spend limit starts again (UTC); default `never`. Only with `spendLimit`. */
  limitReset?: LimitReset;
}

/** Changes to a key, by its id: what is absent is kept, `null` removes (no limit, every model, no expiry). */
export interface KeyUpdate {
  keyId: string;
  /** When given, only a key of this account is changed; another account's key is unknown. */
  accountId?: string;
  name?: string;
  models?: readonly string[] | null;
  expiresAt?: string | null;
  rpm?: number | null;
  tpm?: number | null;
  /** `null` removes the spend limit (and its reset). */
  spendLimit?: number | null;
  /** Needs a spend limit, given here or already on the key. */
  limitReset?: LimitReset;
}

/** A newly minted key: the only time its secret is seen. */
export interface KeyCreated {
  /** The secret, shown this once and never stored. */
  key: string;
  keyId: string;
  account: string;
  name?: string;
  prefix: string;
  models?: string[];
  expiresAt?: string;
  rpm?: number;
  tpm?: number;
  spendLimit?: number;
  limitReset?: LimitReset;
  createdAt: string;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';

/** A key as listings show it: never the secret, never its hash. */
export interface KeySummary {
  keyId: string;
  account: string;
  name?: string;
  prefix: string;
  models?: string[];
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  /** Requests per minute; absent = unlimited. */
  rpm?: number;
  /** Tokens per minute; absent = unlimited. */
  tpm?: number;
  /** nano-USD per `limitReset` period; absent = no spend limit of its own. */
  spendLimit?: number;
  /** Present with `spendLimit`. */
  limitReset?: LimitReset;
  status: KeyStatus;
}

export const keyStatus = (key: KeyRecord, now = Date.now()): KeyStatus => keyRefusal(key, now) ?? 'active';

const summarize = (key: KeyRecord, now: Date): KeySummary => {
  const summary: KeySummary = {
    keyId: key.keyId,
    account: key.accountId,
    prefix: key.prefix,
    createdAt: key.createdAt,
    status: keyStatus(key, now.getTime()),
  };
  if (key.name !== undefined) summary.name = key.name;
  if (key.models !== undefined) summary.models = key.models;
  if (key.expiresAt !== undefined) summary.expiresAt = key.expiresAt;
  if (key.revokedAt !== undefined) summary.revokedAt = key.revokedAt;
  if (key.rpm !== undefined) summary.rpm = key.rpm;
  if (key.tpm !== undefined) summary.tpm = key.tpm;
  if (key.spendLimit !== undefined) {
    summary.spendLimit = key.spendLimit;
    summary.limitReset = limitResetOf(key);
  }
  return summary;
};

const SPEND_LIMIT_WHAT = 'spend limit';

const checkSpendLimit = (nano: number): number =>
  checkNano(nano, SPEND_LIMIT_WHAT, { positive: true, max: MAX_BALANCE_NANO });

const checkLimitReset = (reset: string): LimitReset => {
  if (!(LIMIT_RESETS as readonly string[]).includes(reset)) {
    throw new InvalidInputError(`Invalid limit reset '${reset}': use ${LIMIT_RESETS.join(', ')}`);
  }
  return reset as LimitReset;
};

const checkName = (name: string): string => {
  if (name.trim() === '' || name.length > 128) throw new InvalidInputError('Invalid key name: use 1-128 characters');
  return name;
};

const RATE_WHAT = { rpm: 'requests per minute (rpm)', tpm: 'tokens per minute (tpm)' } as const;

const checkKeyId = (keyId: string): string => {
  if (keyId.trim() === '') throw new InvalidInputError('Give the key id (key_…), as key listings show it');
  return keyId;
};

/** Checks a {@link NewKey} without reading anything. */
export const checkNewKey = (input: NewKey, now = new Date()): CheckedNewKey => {
  const mintOptions: NewKeyOptions = { now };
  if (input.name !== undefined) mintOptions.name = checkName(input.name);
  if (input.models !== undefined) mintOptions.models = checkList(input.models, 'model list');
  if (input.expiresAt !== undefined) mintOptions.expiresAt = parseExpiry(input.expiresAt, now);
  const checked: CheckedNewKey = { accountId: checkAccountId(input.accountId), mintOptions };
  if (input.rpm !== undefined) checked.rpm = checkPositiveInteger(input.rpm, RATE_WHAT.rpm);
  if (input.tpm !== undefined) checked.tpm = checkPositiveInteger(input.tpm, RATE_WHAT.tpm);
  if (input.limitReset !== undefined && input.spendLimit === undefined) {
    throw new InvalidInputError('A limit reset needs a spend limit: give the limit too');
  }
  if (input.spendLimit !== undefined) {
    checked.spendLimit = checkSpendLimit(input.spendLimit);
    checked.limitReset = checkLimitReset(input.limitReset ?? 'never');
  }
  return checked;
};

interface CheckedNewKey {
  accountId: string;
  mintOptions: NewKeyOptions;
  rpm?: number;
  tpm?: number;
  spendLimit?: number;
  limitReset?: LimitReset;
}

/** The changes of a {@link KeyUpdate} checked, without reading anything: the store's changes, `null` for removals. */
export const checkKeyChanges = (update: Omit<KeyUpdate, 'keyId' | 'accountId'>, now = new Date()): KeyChanges => {
  const changes: KeyChanges = {};
  if (update.name !== undefined) changes.name = checkName(update.name);
  if (update.models !== undefined) {
    changes.models = update.models === null ? null : checkList(update.models, 'model list');
  }
  if (update.expiresAt !== undefined) {
    changes.expiresAt = update.expiresAt === null ? null : parseExpiry(update.expiresAt, now);
  }
  for (const field of ['rpm', 'tpm'] as const) {
    const value = update[field];
    if (value !== undefined) changes[field] = value === null ? null : checkPositiveInteger(value, RATE_WHAT[field]);
  }
  if (update.spendLimit === null) {
    if (update.limitReset !== undefined) {
      throw new InvalidInputError('A limit reset needs a spend limit: remove the limit, or give one with the reset');
    }
    changes.spendLimit = null;
    changes.limitReset = null;
  } else if (update.spendLimit !== undefined) {
    changes.spendLimit = checkSpendLimit(update.spendLimit);
  }
  if (update.limitReset !== undefined) changes.limitReset = checkLimitReset(update.limitReset);
  if (Object.keys(changes).length === 0) {
    throw new InvalidInputError('Nothing to change: give a name, models, an expiry, rpm, tpm and/or a spend limit');
  }
  return changes;
};

/** Checks a {@link KeyUpdate} without reading anything. */
export const checkKeyUpdate = (update: KeyUpdate, now = new Date()): { keyId: string; changes: KeyChanges } => ({
  keyId: checkKeyId(update.keyId),
  changes: checkKeyChanges(update, now),
});

/**
 * Mints a key for an existing account. The secret is returned once; only its hash is stored.
 *
 * @example await createKey(stores, { accountId: 'acme', name: 'ci', models: ['gpt-5.2'], rpm: 60 })
 * // { key: 'sk-…', keyId: 'key_…', … }
 */
export const createKey = async (deps: KeysDeps, input: NewKey): Promise<KeyCreated> => {
  const { accountId, mintOptions, rpm, tpm, spendLimit, limitReset } = checkNewKey(input, clock(deps));
  await requireWallet(deps, accountId);

  const { secret, record } = mintKey(accountId, mintOptions);
  if (rpm !== undefined) record.rpm = rpm;
  if (tpm !== undefined) record.tpm = tpm;
  if (spendLimit !== undefined) {
    record.spendLimit = spendLimit;
    record.limitReset = limitReset ?? 'never';
  }
  await deps.keys.put(record);
  const created: KeyCreated = {
    key: secret,
    keyId: record.keyId,
    account: accountId,
    prefix: record.prefix,
    createdAt: record.createdAt,
  };
  if (record.name !== undefined) created.name = record.name;
  if (record.models !== undefined) created.models = record.models;
  if (record.expiresAt !== undefined) created.expiresAt = record.expiresAt;
  if (record.rpm !== undefined) created.rpm = record.rpm;
  if (record.tpm !== undefined) created.tpm = record.tpm;
  if (record.spendLimit !== undefined) {
    created.spendLimit = record.spendLimit;
    created.limitReset = limitResetOf(record);
  }
  return created;
};

/**
 * The account's keys with their status, never their secrets.
 *
 * @example (await listKeys(stores, { accountId: 'acme' })).keys[0] // { keyId, name, prefix, status: 'active', … }
 */
export const listKeys = async (
  deps: KeysDeps,
  { accountId }: { accountId: string },
): Promise<{ account: string; keys: KeySummary[] }> => {
  await requireWallet(deps, checkAccountId(accountId));
  const now = clock(deps);
  const keys = await deps.keys.listByAccount(accountId);
  return { account: accountId, keys: keys.map((key) => summarize(key, now)) };
};

const unknownKey = (keyId: string): NotFoundError => new NotFoundError('key', keyId, `Unknown key id '${keyId}'`);

/**
 * One key of an account, by its id; a key of another account is unknown, as is an id that is not.
 *
 * @example await getKey(stores, { accountId: 'acme', keyId: 'key_0123456789abcdef' }) // { keyId, name, status, … }
 */
export const getKey = async (
  deps: KeysDeps,
  { keyId, accountId }: { keyId: string; accountId: string },
): Promise<KeySummary> => {
  const key = await deps.keys.findByKeyId(checkKeyId(keyId));
  if (!key || key.accountId !== accountId) throw unknownKey(keyId);
  return summarize(key, clock(deps));
};

/**
 * Revokes a key by its id (`key_…`); revoking a revoked key changes nothing. With `accountId`, a
 * key of another account is unknown (the store's write is conditional on the account). A running
 * gateway caches keys for up to 30 s per instance.
 *
 * @example await revokeKey(stores, { keyId: 'key_0123456789abcdef', accountId: 'acme' }) // { keyId, status: 'revoked', revokedAt, … }
 */
export const revokeKey = async (
  deps: KeysDeps,
  { keyId, accountId }: { keyId: string; accountId?: string },
): Promise<KeySummary> => {
  const now = clock(deps);
  const key = await deps.keys.revoke(checkKeyId(keyId), now, accountId);
  if (!key) throw unknownKey(keyId);
  return summarize(key, now);
};

/**
 * Changes a key's limits, allow-list, expiry or name; the fields not given are kept. With
 * `accountId`, a key of another account is unknown (the write is conditional on it). A running
 * gateway caches keys for up to 30 s per instance, so it applies the change within that time.
 *
 * A spend limit set or changed counts what the key already spent in the current period, read from
 * the ledger: "$20 per month" set on the 15th leaves $20 less what the key spent since the 1st.
 * Requests still running when it is set, and those a gateway serves with the key cached without the
 * limit (up to the key cache's 30 s), are not counted.
 *
 * @example await updateKey(stores, { keyId: 'key_0123456789abcdef', rpm: 120, tpm: null }) // { keyId, rpm: 120, … }
 * @example await updateKey(stores, { keyId: 'key_0123456789abcdef', spendLimit: 20e9, limitReset: 'monthly' })
 */
export const updateKey = async (deps: KeyLimitDeps, update: KeyUpdate): Promise<KeySummary> => {
  const now = clock(deps);
  const { keyId, changes } = checkKeyUpdate(update, now);
  const touchesLimit = changes.spendLimit !== undefined || changes.limitReset !== undefined;
  const before = touchesLimit ? await deps.keys.findByKeyId(keyId) : undefined;
  if (touchesLimit) {
    if (!before || (update.accountId !== undefined && before.accountId !== update.accountId)) throw unknownKey(keyId);
    if (changes.spendLimit === undefined && changes.limitReset !== undefined && before.spendLimit === undefined) {
      throw new InvalidInputError(
        `Key '${keyId}' has no spend limit: give the limit with its reset (e.g. a limit of $20.00, monthly)`,
      );
    }
    // A limit set without a reset is a total (never), unless the key had one already.
    if (typeof changes.spendLimit === 'number' && changes.limitReset === undefined && before.spendLimit === undefined) {
      changes.limitReset = 'never';
    }
  }
  // A limit set or changed first counts what the key spent earlier in the period — before the key
  // changes, so that a failure here leaves the key as it was and a retry does it all again.
  if (before) {
    const after = applyChanges(before, changes);
    if (after.spendLimit !== undefined) await restartKeySpend(deps, after, now);
  }
  const key = await deps.keys.update(keyId, changes, update.accountId);
  if (!key) throw unknownKey(keyId);
  return summarize(key, now);
};

/** The key as `changes` leave it (`null` removes a field). */
const applyChanges = (key: KeyRecord, changes: KeyChanges): KeyRecord => {
  const after: Record<string, unknown> = { ...key };
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) delete after[field];
    else if (value !== undefined) after[field] = value;
  }
  return after as unknown as KeyRecord;
};

/** The days from `from` to `to` (inclusive, `YYYY-MM-DD`), in runs of at most {@link SPEND_DAYS_MAX}. */
const dayRuns = (from: string, to: string): { from: string; to: string }[] => {
  const runs: { from: string; to: string }[] = [];
  const DAY_MS = 86_400_000;
  for (let start = Date.parse(`${from}T00:00:00Z`); start <= Date.parse(`${to}T00:00:00Z`); ) {
    const end = Math.min(start + (SPEND_DAYS_MAX - 1) * DAY_MS, Date.parse(`${to}T00:00:00Z`));
    runs.push({ from: new Date(start).toISOString().slice(0, 10), to: new Date(end).toISOString().slice(0, 10) });
    start = end + DAY_MS;
  }
  return runs;
};

/**
 * Counts, on the key's spend row for its limit's current period, what the key spent in the period
 * (its whole life for `never`) that the row does not count already: the settled requests held
 * without it. Exact (read from the ledger rows) and repeatable, so it runs whenever a limit is set.
 */
const restartKeySpend = async (deps: KeyLimitDeps, key: KeyRecord, now: Date): Promise<void> => {
  const period = limitPeriod(limitResetOf(key), now);
  const sk = keyBudgetSk(key.keyId, period);
  const since = period.start === undefined ? key.createdAt : `${period.start}T00:00:00.000Z`;
  const untracked = await deps.wallets.untrackedKeySpend(key.accountId, key.keyId, since, sk);
  await deps.wallets.restartKeySpend(key.accountId, sk, key.keyId, Number(untracked), now);
};

/**
 * What a key spent (settled costs), in all and in the current UTC day, week and month, from the
 * account's daily roll-ups (`GET /v1/key`, the API Keys page).
 *
 * @example await keyUsage(stores, key) // { total: 42_000_000_000, daily: 1_200_000_000, weekly: …, monthly: … }
 */
export const keyUsage = async (deps: SpendDeps, key: KeyRecord): Promise<KeyUsage> => {
  const now = clock(deps);
  const today = now.toISOString().slice(0, 10);
  const week = limitPeriod('weekly', now).start as string;
  const month = limitPeriod('monthly', now).start as string;
  const sums = { total: 0n, daily: 0n, weekly: 0n, monthly: 0n };
  const from = key.createdAt.slice(0, 10);
  for (const run of from <= today ? dayRuns(from, today) : []) {
    for (const day of await spendByDay(deps, { accountId: key.accountId, ...run })) {
      const spent = day.keys.find((entry) => entry.key_id === key.keyId);
      if (!spent) continue;
      const cost = BigInt(spent.cost_nano);
      sums.total += cost;
      if (day.day === today) sums.daily += cost;
      if (day.day >= week) sums.weekly += cost;
      if (day.day >= month) sums.monthly += cost;
    }
  }
  return {
    total: Number(sums.total),
    daily: Number(sums.daily),
    weekly: Number(sums.weekly),
    monthly: Number(sums.monthly),
  };
};

/** {@link keyUsage} as the proxy reads it (`GET /v1/key`), on these stores. */
export const keyUsageReader =
  (stores: Pick<SpendDeps, 'wallets' | 'rollups'>): KeyUsageReader =>
  (key, now) =>
    keyUsage({ wallets: stores.wallets, rollups: stores.rollups, now: () => now }, key);

/**
 * Each limited key's spend in its current period against its limit (the API Keys page), by key id;
 * keys without a spend limit are not in the map.
 *
 * @example (await keyLimits(stores, keys)).get('key_…') // { limit: 20e9, period: { reset: 'monthly', … }, spent, held, remaining }
 */
export const keyLimits = async (
  deps: ServiceDeps<'wallets'>,
  keys: readonly KeySummary[],
): Promise<Map<string, KeyLimitState>> => {
  const now = clock(deps);
  const limited = keys.filter((key) => key.spendLimit !== undefined);
  const states = await Promise.all(
    limited.map((key) =>
      keyLimitState(
        deps.wallets,
        {
          accountId: key.account,
          keyId: key.keyId,
          ...(key.spendLimit !== undefined && { spendLimit: key.spendLimit }),
          ...(key.limitReset !== undefined && { limitReset: key.limitReset }),
        },
        now,
      ),
    ),
  );
  return new Map(limited.map((key, index) => [key.keyId, states[index] as KeyLimitState]));
};
