import { AuthenticationError } from '../errors.ts';
import type { KeyRecord } from '../vocabulary.ts';
import { hashKey, keyRefusal, parsePresentedKey } from './keys.ts';

export interface Authenticated {
  key: KeyRecord;
  /** The model a `sk-…-<provider>/<model>` key selects, overriding the body's. */
  suffix?: { provider: string; model: string };
}

/** The key a client presented: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export const presentedKey = (headers: Readonly<Record<string, string | undefined>>): string | undefined => {
  const authorization = headers['authorization'];
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  return headers['x-api-key']?.trim() || undefined;
};

/**
 * Finds the live key behind the request's credentials; anything else is a 401 that names no detail
 * an attacker could use (unknown, revoked and expired keys read the same). A string that cannot be
 * a Tollgate key is refused without calling `lookup`, so it costs no cache entry and no read.
 */
export const authenticate = async (
  headers: Readonly<Record<string, string | undefined>>,
  lookup: (keyHash: string) => Promise<KeyRecord | undefined>,
  now = Date.now(),
): Promise<Authenticated> => {
  const presented = presentedKey(headers);
  const parsed = presented === undefined ? undefined : parsePresentedKey(presented);
  if (!parsed) throw new AuthenticationError();
  const key = await lookup(hashKey(parsed.secret));
  if (!key || keyRefusal(key, now)) throw new AuthenticationError();
  return parsed.suffix ? { key, suffix: parsed.suffix } : { key };
};
