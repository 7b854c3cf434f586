import { keyRefusal, mintKey, type NewKeyOptions } from '../gateway/keys.ts';
import type { KeyChanges } from '../store/keys.ts';
import type { KeyRecord } from '../vocabulary.ts';
import { requireWallet } from './accounts.ts';
import { clock, type ServiceDeps } from './deps.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { checkAccountId, checkList, checkPositiveInteger, parseExpiry } from './validate.ts';

export type KeysDeps = ServiceDeps<'keys' | 'wallets'>;

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
  return summary;
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
export const checkNewKey = (
  input: NewKey,
  now = new Date(),
): { accountId: string; mintOptions: NewKeyOptions; rpm?: number; tpm?: number } => {
  const mintOptions: NewKeyOptions = { now };
  if (input.name !== undefined) mintOptions.name = checkName(input.name);
  if (input.models !== undefined) mintOptions.models = checkList(input.models, 'model list');
  if (input.expiresAt !== undefined) mintOptions.expiresAt = parseExpiry(input.expiresAt, now);
  const checked: { accountId: string; mintOptions: NewKeyOptions; rpm?: number; tpm?: number } = {
    accountId: checkAccountId(input.accountId),
    mintOptions,
  };
  if (input.rpm !== undefined) checked.rpm = checkPositiveInteger(input.rpm, RATE_WHAT.rpm);
  if (input.tpm !== undefined) checked.tpm = checkPositiveInteger(input.tpm, RATE_WHAT.tpm);
  return checked;
};

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
  if (Object.keys(changes).length === 0) {
    throw new InvalidInputError('Nothing to change: give a name, models, an expiry, rpm and/or tpm');
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
  const { accountId, mintOptions, rpm, tpm } = checkNewKey(input, clock(deps));
  await requireWallet(deps, accountId);

  const { secret, record } = mintKey(accountId, mintOptions);
  if (rpm !== undefined) record.rpm = rpm;
  if (tpm !== undefined) record.tpm = tpm;
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
 * @example await updateKey(stores, { keyId: 'key_0123456789abcdef', rpm: 120, tpm: null }) // { keyId, rpm: 120, … }
 */
export const updateKey = async (deps: KeysDeps, update: KeyUpdate): Promise<KeySummary> => {
  const now = clock(deps);
  const { keyId, changes } = checkKeyUpdate(update, now);
  const key = await deps.keys.update(keyId, changes, update.accountId);
  if (!key) throw unknownKey(keyId);
  return summarize(key, now);
};
