import { keyRefusal, mintKey, type NewKeyOptions } from '../gateway/keys.ts';
import { CommandError, UsageError } from '../services/errors.ts';
import { parseExpiry, parseList, parsePositiveInteger } from '../services/validate.ts';
import type { Stores } from '../store/index.ts';
import type { KeyChanges } from '../store/keys.ts';
import type { KeyRecord } from '../vocabulary.ts';
import { requireAccount } from './accounts.ts';

export interface CreateKeyOptions {
  name?: string;
  /** Comma-separated model allow-list, e.g. "gpt-5.2,claude-sonnet-4-6". */
  models?: string;
  /** ISO-8601 date or date-time in the future. */
  expires?: string;
  /** Requests per minute, a whole number > 0, e.g. "60". */
  rpm?: string;
  /** Tokens (input + output + cache) per minute, a whole number > 0, e.g. "200000". */
  tpm?: string;
  now?: Date;
}

/**
 * Changes to a key as an operator writes them: `'none'` removes a limit, `'all'` the model
 * allow-list, `'never'` the expiry.
 */
export interface KeySettings {
  name?: string;
  /** Comma-separated model allow-list, or "all". */
  models?: string;
  /** ISO-8601 date or date-time in the future, or "never". */
  expires?: string;
  /** Requests per minute, or "none". */
  rpm?: string;
  /** Tokens per minute, or "none". */
  tpm?: string;
}

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

const summarize = (key: KeyRecord, now = Date.now()): KeySummary => {
  const summary: KeySummary = {
    keyId: key.keyId,
    account: key.accountId,
    prefix: key.prefix,
    createdAt: key.createdAt,
    status: keyStatus(key, now),
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
  if (name.trim() === '' || name.length > 128) throw new UsageError('Invalid key name: use 1-128 characters');
  return name;
};

const RATE_WHAT = { rpm: 'requests per minute (--rpm)', tpm: 'tokens per minute (--tpm)' } as const;

/** A per-minute limit: a whole number > 0. */
const parseRate = (text: string, field: 'rpm' | 'tpm'): number => parsePositiveInteger(text, RATE_WHAT[field]);

/** A per-minute limit or `'none'` (null: remove the limit). */
const parseRateOrNone = (text: string, field: 'rpm' | 'tpm'): number | null => {
  if (text.trim() === 'none') return null;
  try {
    return parseRate(text, field);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}, or 'none' for no limit`);
  }
};

/**
 * Validates {@link KeySettings} (before any connection) into the store's changes: `null` removes.
 *
 * @example parseKeySettings({ rpm: '60', tpm: 'none', models: 'all' }) // { rpm: 60, tpm: null, models: null }
 */
export const parseKeySettings = (settings: KeySettings, now = new Date()): KeyChanges => {
  const changes: KeyChanges = {};
  if (settings.name !== undefined) changes.name = checkName(settings.name);
  if (settings.models !== undefined) {
    changes.models = settings.models.trim() === 'all' ? null : parseList(settings.models, 'model list');
  }
  if (settings.expires !== undefined) {
    changes.expiresAt = settings.expires.trim() === 'never' ? null : parseExpiry(settings.expires, now);
  }
  if (settings.rpm !== undefined) changes.rpm = parseRateOrNone(settings.rpm, 'rpm');
  if (settings.tpm !== undefined) changes.tpm = parseRateOrNone(settings.tpm, 'tpm');
  if (Object.keys(changes).length === 0) {
    throw new UsageError('Nothing to change: give --rpm, --tpm, --models, --expires and/or --name');
  }
  return changes;
};

/**
 * Validates {@link CreateKeyOptions} (commands call it before connecting; {@link createKey} does too).
 *
 * @example parseCreateKeyOptions({ models: 'gpt-5.2', rpm: '60' }) // { mintOptions: { models: ['gpt-5.2'], now }, rpm: 60 }
 */
export const parseCreateKeyOptions = (
  options: CreateKeyOptions,
): { mintOptions: NewKeyOptions; rpm?: number; tpm?: number } => {
  const now = options.now ?? new Date();
  const mintOptions: NewKeyOptions = { now };
  if (options.name !== undefined) mintOptions.name = checkName(options.name);
  if (options.models !== undefined) mintOptions.models = parseList(options.models, 'model list');
  if (options.expires !== undefined) mintOptions.expiresAt = parseExpiry(options.expires, now);
  const parsed: { mintOptions: NewKeyOptions; rpm?: number; tpm?: number } = { mintOptions };
  if (options.rpm !== undefined) parsed.rpm = parseRate(options.rpm, 'rpm');
  if (options.tpm !== undefined) parsed.tpm = parseRate(options.tpm, 'tpm');
  return parsed;
};

/**
 * Mints a key for an existing account. The secret is returned once; only its hash is stored.
 *
 * @example await createKey(stores, 'acme', { name: 'ci', models: 'gpt-5.2', expires: '2027-01-01', rpm: '60' })
 * // { key: 'sk-…', keyId: 'key_…', … }
 */
export const createKey = async (
  stores: Stores,
  account: string,
  options: CreateKeyOptions = {},
): Promise<KeyCreated> => {
  const { mintOptions, rpm, tpm } = parseCreateKeyOptions(options);
  await requireAccount(stores, account);

  const { secret, record } = mintKey(account, mintOptions);
  if (rpm !== undefined) record.rpm = rpm;
  if (tpm !== undefined) record.tpm = tpm;
  await stores.keys.put(record);
  const created: KeyCreated = {
    key: secret,
    keyId: record.keyId,
    account,
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
 * The account's keys, oldest first, with their status.
 *
 * @example (await listKeys(stores, 'acme')).keys[0] // { keyId, name, prefix, status: 'active', … }
 */
export const listKeys = async (
  stores: Stores,
  account: string,
  now = new Date(),
): Promise<{ account: string; keys: KeySummary[] }> => {
  await requireAccount(stores, account);
  const keys = await stores.keys.listByAccount(account);
  return { account, keys: keys.map((key) => summarize(key, now.getTime())) };
};

/**
 * Revokes a key by its id (`key_…`); revoking a revoked key changes nothing.
 *
 * @example await revokeKey(stores, 'key_0123456789abcdef') // { keyId, status: 'revoked', revokedAt, … }
 */
export const revokeKey = async (stores: Stores, keyId: string, now = new Date()): Promise<KeySummary> => {
  if (keyId.trim() === '') throw new UsageError('Give the key id to revoke (key_…), as shown by: tollgate keys list');
  const key = await stores.keys.revoke(keyId, now);
  if (!key) throw new CommandError(`Unknown key id '${keyId}'`);
  return summarize(key, now.getTime());
};

/**
 * Changes a key's limits, allow-list, expiry or name by its id (`key_…`); the fields not given are
 * kept. A running gateway caches keys for up to 30 s per instance, so it applies the change within
 * that time.
 *
 * @example await updateKey(stores, 'key_0123456789abcdef', { rpm: '120', tpm: 'none' }) // { keyId, rpm: 120, … }
 */
export const updateKey = async (
  stores: Stores,
  keyId: string,
  settings: KeySettings,
  now = new Date(),
): Promise<KeySummary> => {
  if (keyId.trim() === '') throw new UsageError('Give the key id to change (key_…), as shown by: tollgate keys list');
  const changes = parseKeySettings(settings, now);
  const key = await stores.keys.update(keyId, changes);
  if (!key) throw new CommandError(`Unknown key id '${keyId}'`);
  return summarize(key, now.getTime());
};
