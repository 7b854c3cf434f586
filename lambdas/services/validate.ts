import { parseUsd } from '../gateway/money.ts';
import { FULL_PRICE_PPM } from '../gateway/pricing.ts';
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

/** An ISO-8601 date or date-time as epoch milliseconds; `what` names the argument in the message. */
const parseInstant = (text: string, what: string, example: string): number => {
  const time = ISO_DATE.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(`Invalid ${what} '${text}': use an ISO-8601 date or time, e.g. ${example}`);
  }
  return time;
};

/** An ISO-8601 date or date-time strictly in the future, normalized to `toISOString()` (UTC). */
export const parseExpiry = (text: string, now = new Date()): string => {
  const time = parseInstant(text, 'expiry', '2027-01-31 or 2027-01-31T12:00:00Z');
  if (time <= now.getTime()) throw new UsageError(`Invalid expiry '${text}': it is not in the future`);
  return new Date(time).toISOString();
};

/**
 * A `--since` bound: an ISO-8601 date (midnight UTC) or date-time, normalized to `toISOString()`,
 * the form ledger rows' sort keys start with.
 */
export const parseSince = (text: string): string =>
  new Date(parseInstant(text, '--since', '2026-11-01 or 2026-11-01T09:30:00Z')).toISOString();

/** A whole number from 1 to `max`. */
export const parseLimit = (text: string, what: string, max: number): number => {
  const value = parsePositiveInteger(text, what);
  if (value > max) throw new UsageError(`Invalid ${what} '${text}': at most ${max}`);
  return value;
};

const LEDGER_CURSOR = /^\d{4}-\d{2}-\d{2}T[^#]+#.+$/;

/** A `--cursor` as `usage` printed it (the sort key of the last row shown). */
export const parseCursor = (text: string): string => {
  if (!LEDGER_CURSOR.test(text)) {
    throw new UsageError(`Invalid cursor '${text}': pass the next_cursor a previous tollgate usage printed`);
  }
  return text;
};

const FRACTION = /^(\d+)(?:\.(\d+))?$/;
const PPM_DIGITS = 6;

/**
 * A discount given as the fraction of list price charged ("0.8" = 20% off, "1" = none), parsed to
 * parts per million exactly, by string arithmetic: more than 0, at most 1, up to six decimals.
 *
 * @example parseDiscount('0.8') // 800_000
 */
export const parseDiscount = (text: string): number => {
  const hint = 'give the fraction of list price charged, more than 0 and at most 1 (0.8 = 20% off, 1 = no discount)';
  const match = FRACTION.exec(text.trim());
  if (!match) throw new UsageError(`Invalid discount '${text}': ${hint}`);
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > PPM_DIGITS) {
    throw new UsageError(`Invalid discount '${text}': at most ${PPM_DIGITS} decimals (parts per million)`);
  }
  const ppm = BigInt(whole) * BigInt(FULL_PRICE_PPM) + BigInt(fraction.padEnd(PPM_DIGITS, '0'));
  if (ppm <= 0n || ppm > BigInt(FULL_PRICE_PPM)) throw new UsageError(`Invalid discount '${text}': ${hint}`);
  return Number(ppm);
};

/** A comma-separated list, trimmed, empties dropped, duplicates removed. */
export const parseList = (text: string, what: string): string[] => {
  const items = [...new Set(text.split(',').map((item) => item.trim()))].filter((item) => item !== '');
  if (items.length === 0) throw new UsageError(`Invalid ${what} '${text}': give at least one, comma-separated`);
  return items;
};
