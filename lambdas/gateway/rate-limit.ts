import { RateLimitError } from '../errors.ts';
import type { WindowCount } from '../store/counters.ts';
import type { KeyRecord } from '../vocabulary.ts';

export const WINDOW_MS = 60_000;

/** The start of the fixed one-minute window `at` falls in. */
export const windowStart = (at: number): number => at - (at % WINDOW_MS);

export const hasLimits = (key: KeyRecord): boolean => key.rpm !== undefined || key.tpm !== undefined;

/**
 * Checks a key's per-minute limits against its window's counts (this request included). Fixed
 * one-minute windows, shared by every instance through DynamoDB: simple and exact within a window;
 * a burst straddling a minute boundary can reach twice the limit over 60 s (documented).
 * Tokens are counted when requests settle, so the token limit stops the requests after the one
 * that crossed it.
 */
export const checkLimits = (key: KeyRecord, count: WindowCount, now: number): void => {
  const retryAfter = Math.max(1, Math.ceil((windowStart(now) + WINDOW_MS - now) / 1000));
  const refuse = (what: string) => {
    const error = new RateLimitError(
      `Rate limit exceeded for this API key: ${what} per minute. Retry after ${retryAfter} s.`,
    );
    error.headers['retry-after'] = String(retryAfter);
    error.code = 'rate_limit_exceeded';
    throw error;
  };
  if (key.rpm !== undefined && count.requests > key.rpm) refuse(`${key.rpm} requests`);
  if (key.tpm !== undefined && count.tokens >= key.tpm) refuse(`${key.tpm} tokens`);
};
