import { keyRefusal, mintKey, type NewKeyOptions } from '../gateway/keys.ts';
import type { KeyRecord } from '../gateway/model.ts';
import type { Stores } from '../store/index.ts';
import { requireAccount } from './accounts.ts';
import { CommandError, UsageError } from './errors.ts';
import { parseExpiry, parseList } from './validate.ts';

export interface CreateKeyOptions {
  name?: string;
  /** Comma-separated model allow-list, e.g. "gpt-5.2,claude-sonnet-4-6". */
  models?: string;
  /** ISO-8601 date or date-time in the future. */
  expires?: string;
  now?: Date;
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
  return summary;
};

/**
 * Mints a key for an existing account. The secret is returned once; only its hash is stored.
 *
 * @example await createKey(stores, 'acme', { name: 'ci', models: 'gpt-5.2', expires: '2027-01-01' })
 * // { key: 'sk-…', keyId: 'key_…', … }
 */
export const createKey = async (
  stores: Stores,
  account: string,
  options: CreateKeyOptions = {},
): Promise<KeyCreated> => {
  const now = options.now ?? new Date();
  const mintOptions: NewKeyOptions = { now };
  if (options.name !== undefined) {
    if (options.name.trim() === '' || options.name.length > 128) {
      throw new UsageError('Invalid key name: use 1-128 characters');
    }
    mintOptions.name = options.name;
  }
  if (options.models !== undefined) mintOptions.models = parseList(options.models, 'model list');
  if (options.expires !== undefined) mintOptions.expiresAt = parseExpiry(options.expires, now);
  await requireAccount(stores, account);

  const { secret, record } = mintKey(account, mintOptions);
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
