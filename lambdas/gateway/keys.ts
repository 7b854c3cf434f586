import { createHash, randomBytes } from 'node:crypto';
import type { KeyRecord } from '../vocabulary.ts';

/** SHA-256 of a key secret, hex: the only form in which a key is stored. */
export const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export interface PresentedKey {
  /** `sk-<random>`, without any route suffix. */
  secret: string;
  /** `<provider>/<model>` from a key written as `sk-<random>-<provider>/<model>`. */
  suffix?: { provider: string; model: string };
}

/** Bytes of randomness in a key: 192 bits, written as 48 lowercase hex digits after `sk-`. */
const KEY_RANDOM_BYTES = 24;
/** The exact shape of every secret {@link mintKey} makes; anything else cannot be a key. */
const KEY_SECRET = new RegExp(`^sk-[0-9a-f]{${KEY_RANDOM_BYTES * 2}}$`);

/**
 * Splits what a client sent into the secret and the optional route suffix, or undefined when it
 * cannot be a Tollgate key: such a string is refused before any cache or database lookup. The
 * random part never contains `-`, so the first `-` after `sk-` starts the suffix.
 *
 * @example parsePresentedKey(`sk-${'3f'.repeat(24)}-anthropic/claude-sonnet-4-6`)
 * // { secret: 'sk-3f3f…3f', suffix: { provider: 'anthropic', model: 'claude-sonnet-4-6' } }
 */
export const parsePresentedKey = (presented: string): PresentedKey | undefined => {
  const dash = presented.indexOf('-', 3);
  const secret = dash === -1 ? presented : presented.slice(0, dash);
  if (!KEY_SECRET.test(secret)) return undefined;
  if (dash === -1) return { secret };
  const rest = presented.slice(dash + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { secret, suffix: { provider: rest.slice(0, slash), model: rest.slice(slash + 1) } };
};

export interface NewKey {
  /** Shown once, never stored. */
  secret: string;
  record: KeyRecord;
}

export interface NewKeyOptions {
  name?: string;
  models?: string[];
  expiresAt?: string;
  now?: Date;
}

/** Mints a key: 192 random bits as hex (no `-`, so a route suffix can follow). */
export const mintKey = (accountId: string, options: NewKeyOptions = {}): NewKey => {
  const secret = `sk-${randomBytes(KEY_RANDOM_BYTES).toString('hex')}`;
  const record: KeyRecord = {
    keyHash: hashKey(secret),
    keyId: `key_${randomBytes(8).toString('hex')}`,
    accountId,
    createdAt: (options.now ?? new Date()).toISOString(),
    prefix: secret.slice(0, 9),
  };
  if (options.name !== undefined) record.name = options.name;
  if (options.models !== undefined && options.models.length > 0) record.models = options.models;
  if (options.expiresAt !== undefined) record.expiresAt = options.expiresAt;
  return { secret, record };
};

/** Why a stored key may not be used now, or undefined when it may. */
export const keyRefusal = (key: KeyRecord, now = Date.now()): 'revoked' | 'expired' | undefined => {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) return 'expired';
  return undefined;
};
