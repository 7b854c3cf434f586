/**
 * Money is an integer number of nano-USD (1e-9 USD), never a float. Prices are nano-USD per million
 * tokens, so a price with up to nine decimals is exact and one token × one price is exact.
 */

export const NANO_PER_USD = 1_000_000_000n;

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,9}))?$/;

/** Parses a decimal USD string ("12.50", "0.000001") to nano-USD, exactly. */
export const parseUsd = (text: string): number => {
  const match = DECIMAL.exec(text.trim());
  if (!match) {
    throw new RangeError(`'${text}' is not a USD amount (digits, at most nine decimals, e.g. 12.50)`);
  }
  const [, sign, whole = '0', fraction = ''] = match;
  const nano = BigInt(whole) * NANO_PER_USD + BigInt(fraction.padEnd(9, '0'));
  if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`'${text}' is too large`);
  return Number(sign ? -nano : nano);
};

/** Formats nano-USD as a decimal string with at least two decimals ("5.00", "0.000003"). */
export const formatUsd = (nano: number): string => {
  if (!Number.isSafeInteger(nano)) throw new RangeError(`${nano} is not an integer amount`);
  const negative = nano < 0;
  const abs = BigInt(Math.abs(nano));
  const whole = abs / NANO_PER_USD;
  const fraction = (abs % NANO_PER_USD).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
};
