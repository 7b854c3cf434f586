/**
 * Money is an integer number of nano-USD (1e-9 USD), never a float. Prices are nano-USD per million
 * tokens, so a price with up to nine decimals is exact and one token × one price is exact.
 */

export const NANO_PER_USD = 1_000_000_000n;

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,9}))?$/;

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** nano-USD as a decimal string with at least two decimals, at any size. */
const formatNano = (nano: bigint): string => {
  const negative = nano < 0n;
  const abs = negative ? -nano : nano;
  const whole = abs / NANO_PER_USD;
  const fraction = (abs % NANO_PER_USD).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
};

/**
 * Parses a decimal USD string ("12.50", "0.000001") to nano-USD, exactly. Refuses anything a JS
 * number cannot hold exactly, and more than `max` nano-USD when given (e.g. `MAX_TOP_UP_NANO`).
 *
 * @example parseUsd('2000000', { max: MAX_TOP_UP_NANO }) // RangeError: '2000000' is more than the maximum of $1000000.00
 */
export const parseUsd = (text: string, { max }: { max?: number } = {}): number => {
  const match = DECIMAL.exec(text.trim());
  if (!match) {
    throw new RangeError(`'${text}' is not a USD amount (digits, at most nine decimals, e.g. 12.50)`);
  }
  const [, sign, whole = '0', fraction = ''] = match;
  const abs = BigInt(whole) * NANO_PER_USD + BigInt(fraction.padEnd(9, '0'));
  if (abs > MAX_EXACT) {
    throw new RangeError(`'${text}' is too large: amounts are exact only up to $${formatNano(MAX_EXACT)}`);
  }
  const nano = Number(sign ? -abs : abs);
  if (max !== undefined && nano > max) {
    throw new RangeError(`'${text}' is more than the maximum of $${formatUsd(max)}`);
  }
  return nano;
};

/**
 * Formats nano-USD as a decimal string with at least two decimals ("5.00", "0.000003"). A bigint is
 * exact at any size (sums); a number must be a safe integer: anything else is refused with a clear
 * message rather than printed rounded.
 */
export const formatUsd = (nano: number | bigint): string => {
  if (typeof nano === 'bigint') return formatNano(nano);
  if (!Number.isInteger(nano)) throw new RangeError(`${nano} nano-USD is not a whole number of nano-USD`);
  if (!Number.isSafeInteger(nano)) {
    throw new RangeError(
      `${BigInt(nano)} nano-USD is outside the exact range of amounts (±$${formatNano(MAX_EXACT)}); refusing to print it rounded`,
    );
  }
  return formatNano(BigInt(nano));
};

/**
 * nano-USD as a JSON number of USD, for fields clients read as numbers (`usage.cost`, OpenRouter's
 * `limit`): exact below $1M, where the decimal has at most 15 significant digits and so round-trips.
 */
export const usdNumber = (nano: number): number => Number(formatUsd(nano));

/**
 * A sum of nano-USD (a bigint, exact at any size) as the `*_nano` JSON integer next to its `*_usd`
 * string: the number while it is exact, null past ±(2⁵³ − 1) nano-USD (about $9M), where only the
 * `*_usd` string stays exact.
 */
export const sumNano = (nano: bigint): number | null => (nano > MAX_EXACT || nano < -MAX_EXACT ? null : Number(nano));
