/**
 * Checks of the plain values services take. Each throws an {@link InvalidInputError} naming the
 * value by `what`, so a caller that knows the value by another name (the CLI's `--since`) can check
 * it first under that name.
 */
import { formatUsd, parseUsd } from '../gateway/money.ts';
import { FULL_PRICE_PPM } from '../gateway/pricing.ts';
import { LEDGER_CURSOR } from '../gateway/wallet-view.ts';
import { InvalidInputError } from './errors.ts';

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Account ids are 1–64 characters of `A-Z a-z 0-9 . _ -`. */
export const checkAccountId = (account: string): string => {
  if (!ACCOUNT_ID.test(account)) {
    throw new InvalidInputError(
      `Invalid account id '${account}': use 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'`,
    );
  }
  return account;
};

/** How an amount may be: more than zero (a top-up), and at most `max` nano-USD (a money limit). */
export interface AmountRules {
  positive?: boolean;
  /** The largest amount allowed, in nano-USD, e.g. `MAX_TOP_UP_NANO`; named in the refusal. */
  max?: number;
}

/**
 * A USD amount (decimal string, e.g. "12.50") as exact nano-USD; `what` names it in the message.
 *
 * @example parseAmount('2000000', 'amount', { max: MAX_TOP_UP_NANO })
 * // InvalidInputError: Invalid amount: '2000000' is more than the maximum of $1000000.00
 */
export const parseAmount = (text: string, what: string, { positive = false, max }: AmountRules = {}): number => {
  let nano: number;
  try {
    nano = parseUsd(text, max === undefined ? {} : { max });
  } catch (error) {
    throw new InvalidInputError(`Invalid ${what}: ${(error as Error).message}`);
  }
  if (nano < 0 || (positive && nano === 0)) {
    throw new InvalidInputError(
      `Invalid ${what} '${text}': must be ${positive ? 'greater than zero' : 'zero or more'}`,
    );
  }
  return nano;
};

/** An amount given in integer nano-USD, checked like {@link parseAmount}. */
export const checkNano = (nano: number, what: string, { positive = false, max }: AmountRules = {}): number => {
  if (!Number.isSafeInteger(nano)) throw new InvalidInputError(`Invalid ${what} ${nano}: a whole number of nano-USD`);
  if (nano < 0 || (positive && nano === 0)) {
    throw new InvalidInputError(`Invalid ${what} ${nano}: must be ${positive ? 'greater than zero' : 'zero or more'}`);
  }
  if (max !== undefined && nano > max) {
    throw new InvalidInputError(`Invalid ${what}: ${nano} nano-USD is more than the maximum of $${formatUsd(max)}`);
  }
  return nano;
};

/**
 * An amount given either way — a decimal USD string or integer nano-USD, exactly one — as nano-USD.
 *
 * @example amountOf({ usd: '12.50' }, 'amount', { positive: true, max: MAX_TOP_UP_NANO }) // 12_500_000_000
 */
export const amountOf = (
  { usd, nano }: { usd?: string | undefined; nano?: number | undefined },
  what: string,
  rules: AmountRules = {},
): number => {
  if (usd !== undefined && nano !== undefined) {
    throw new InvalidInputError(`Give the ${what} once: in USD or in nano-USD, not both`);
  }
  if (usd !== undefined) return parseAmount(usd, what, rules);
  if (nano !== undefined) return checkNano(nano, what, rules);
  throw new InvalidInputError(`Missing ${what}`);
};

/** A positive whole number, e.g. a token count. */
export const parsePositiveInteger = (text: string, what: string): number => {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidInputError(`Invalid ${what} '${text}': must be a whole number greater than zero`);
  }
  return value;
};

/** A whole number from 1 to `max` (default: any safe integer). */
export const checkPositiveInteger = (value: number, what: string, max = Number.MAX_SAFE_INTEGER): number => {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidInputError(`Invalid ${what} '${value}': must be a whole number greater than zero`);
  }
  if (value > max) throw new InvalidInputError(`Invalid ${what} '${value}': at most ${max}`);
  return value;
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time as epoch milliseconds; `what` names the argument in the message. */
const parseInstant = (text: string, what: string, example: string): number => {
  const time = ISO_DATE.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new InvalidInputError(`Invalid ${what} '${text}': use an ISO-8601 date or time, e.g. ${example}`);
  }
  return time;
};

/** An ISO-8601 date or date-time strictly in the future, normalized to `toISOString()` (UTC). */
export const parseExpiry = (text: string, now = new Date()): string => {
  const time = parseInstant(text, 'expiry', '2027-01-31 or 2027-01-31T12:00:00Z');
  if (time <= now.getTime()) throw new InvalidInputError(`Invalid expiry '${text}': it is not in the future`);
  return new Date(time).toISOString();
};

/**
 * A lower time bound: an ISO-8601 date (midnight UTC) or date-time, normalized to `toISOString()`,
 * the form ledger rows' sort keys start with.
 */
export const parseSince = (text: string, what = 'since'): string =>
  new Date(parseInstant(text, what, '2026-11-01 or 2026-11-01T09:30:00Z')).toISOString();

/**
 * An upper time bound, exclusive: an ISO-8601 date (midnight UTC, so `until 2026-12-01` ends with
 * November) or date-time, normalized to `toISOString()`.
 */
export const parseUntil = (text: string, what = 'until'): string =>
  new Date(parseInstant(text, what, '2026-12-01 or 2026-11-30T18:00:00Z')).toISOString();

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A UTC calendar day as `YYYY-MM-DD`, a day that exists (no 2026-02-30). */
export const parseDay = (text: string, what = 'day'): string => {
  const day = text.trim();
  const time = DAY.test(day) ? Date.parse(`${day}T00:00:00.000Z`) : Number.NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== day) {
    throw new InvalidInputError(`Invalid ${what} '${text}': use a day as YYYY-MM-DD (UTC), e.g. 2026-11-01`);
  }
  return day;
};

/** A ledger cursor as a previous page handed it out (its `next_cursor`). */
export const parseCursor = (text: string, what = 'cursor'): string => {
  if (!LEDGER_CURSOR.test(text)) {
    throw new InvalidInputError(`Invalid ${what} '${text}': pass the next_cursor of the previous page`);
  }
  return text;
};

const FRACTION = /^(\d+)(?:\.(\d+))?$/;
const PPM_DIGITS = 6;
const DISCOUNT_HINT =
  'give the fraction of list price charged, more than 0 and at most 1 (0.8 = 20% off, 1 = no discount)';

/**
 * A discount given as the fraction of list price charged ("0.8" = 20% off, "1" = none), parsed to
 * parts per million exactly, by string arithmetic: more than 0, at most 1, up to six decimals.
 *
 * @example parseDiscount('0.8') // 800_000
 */
export const parseDiscount = (text: string): number => {
  const match = FRACTION.exec(text.trim());
  if (!match) throw new InvalidInputError(`Invalid discount '${text}': ${DISCOUNT_HINT}`);
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > PPM_DIGITS) {
    throw new InvalidInputError(`Invalid discount '${text}': at most ${PPM_DIGITS} decimals (parts per million)`);
  }
  const ppm = BigInt(whole) * BigInt(FULL_PRICE_PPM) + BigInt(fraction.padEnd(PPM_DIGITS, '0'));
  if (ppm <= 0n || ppm > BigInt(FULL_PRICE_PPM))
    throw new InvalidInputError(`Invalid discount '${text}': ${DISCOUNT_HINT}`);
  return Number(ppm);
};

/** A discount given in parts per million of list price: 1 to 1,000,000. */
export const checkDiscountPpm = (ppm: number): number => {
  if (!Number.isSafeInteger(ppm) || ppm <= 0 || ppm > FULL_PRICE_PPM) {
    throw new InvalidInputError(
      `Invalid discount ${ppm} ppm: a whole number from 1 to ${FULL_PRICE_PPM} (no discount)`,
    );
  }
  return ppm;
};

/** A list of names, trimmed, empties dropped, duplicates removed; at least one. */
export const checkList = (items: readonly string[], what: string): string[] => {
  const kept = [...new Set(items.map((item) => item.trim()))].filter((item) => item !== '');
  if (kept.length === 0) throw new InvalidInputError(`Invalid ${what}: give at least one`);
  return kept;
};

/** A comma-separated list, trimmed, empties dropped, duplicates removed. */
export const parseList = (text: string, what: string): string[] => {
  const items = [...new Set(text.split(',').map((item) => item.trim()))].filter((item) => item !== '');
  if (items.length === 0) throw new InvalidInputError(`Invalid ${what} '${text}': give at least one, comma-separated`);
  return items;
};
