import { parseUsd } from '../gateway/money.ts';
import { UsageError } from './errors.ts';

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Account ids are 1–64 characters of `A-Z a-z 0-9 . _ -`. */
export const checkAccountId = (account: string): string => {
  if (!ACCOUNT_ID.test(account)) {
    throw new UsageError(`Invalid account id '${account}': use 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'`);
  }
  return account;
};

/** A USD amount as exact nano-USD; `what` names the argument in the message. */
export const parseAmount = (text: string, what: string, { positive = false } = {}): number => {
  let nano: number;
  try {
    nano = parseUsd(text);
  } catch (error) {
    throw new UsageError(`Invalid ${what}: ${(error as Error).message}`);
  }
  if (nano < 0 || (positive && nano === 0)) {
    throw new UsageError(`Invalid ${what} '${text}': must be ${positive ? 'greater than zero' : 'zero or more'}`);
  }
  return nano;
};

/** A positive whole number, e.g. a token count. */
export const parsePositiveInteger = (text: string, what: string): number => {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(`Invalid ${what} '${text}': must be a whole number greater than zero`);
  }
  return value;
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time strictly in the future, normalized to `toISOString()` (UTC). */
export const parseExpiry = (text: string, now = new Date()): string => {
  const time = ISO_DATE.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(
      `Invalid expiry '${text}': use an ISO-8601 date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z`,
    );
  }
  if (time <= now.getTime()) throw new UsageError(`Invalid expiry '${text}': it is not in the future`);
  return new Date(time).toISOString();
};

/** A comma-separated list, trimmed, empties dropped, duplicates removed. */
export const parseList = (text: string, what: string): string[] => {
  const items = [...new Set(text.split(',').map((item) => item.trim()))].filter((item) => item !== '');
  if (items.length === 0) throw new UsageError(`Invalid ${what} '${text}': give at least one, comma-separated`);
  return items;
};
