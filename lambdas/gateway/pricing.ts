import type { Prices, Usage } from '../vocabulary.ts';
import { formatUsd } from './money.ts';

/** A discount is parts per million of list price: 1_000_000 is full price, 800_000 is 20% off. */
export const FULL_PRICE_PPM = 1_000_000;

const MILLION = 1_000_000n;

/**
 * The exact cost of `usage` in nano-USD: Σ tokens × price (nano-USD per million tokens) × discount,
 * in integers, rounded up once. Each token is priced exactly once: cache reads and writes at their
 * own prices (the input price where a route has none).
 *
 * @example costOf({ inputTokens: 1000, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 0 },
 *   { input: 3_000_000_000, output: 15_000_000_000 }) // 10_500_000 (= $0.0105)
 */
export const costOf = (usage: Usage, prices: Prices, discountPpm: number = FULL_PRICE_PPM): number => {
  const units =
    BigInt(usage.inputTokens) * BigInt(prices.input) +
    BigInt(usage.outputTokens) * BigInt(prices.output) +
    BigInt(usage.cacheReadTokens) * BigInt(prices.cacheRead ?? prices.input) +
    BigInt(usage.cacheWriteTokens) * BigInt(prices.cacheWrite ?? prices.input);
  const numerator = units * BigInt(discountPpm);
  const denominator = MILLION * BigInt(FULL_PRICE_PPM);
  // Beyond 2^53 nano-USD ($9M) a number is no longer exact: callers refuse such amounts.
  return Number((numerator + denominator - 1n) / denominator);
};

/** Images and other long base64 runs count as this many tokens each, not by their length. */
export const TOKENS_PER_BINARY_BLOB = 1_600;
const BASE64_RUN = /[A-Za-z0-9+/=]{1000,}/g;

/**
 * A documented upper-leaning estimate of a request's input tokens, for the hold: one token per
 * 3 characters of the JSON body (real tokenizers average nearer 4 for English and code), with each
 * base64 blob (an image, a PDF) counted as 1,600 tokens.
 */
export const estimateInputTokens = (bodyText: string): number => {
  let blobs = 0;
  const text = bodyText.replace(BASE64_RUN, () => {
    blobs += 1;
    return '';
  });
  return Math.ceil(text.length / 3) + blobs * TOKENS_PER_BINARY_BLOB;
};

/** Max output tokens a request asks for, whichever protocol's name it uses. */
export const requestedMaxTokens = (body: Record<string, unknown>): number | undefined => {
  for (const field of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const value = body[field];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  }
  return undefined;
};

/** Used when neither the request nor the route names a max output. */
export const FALLBACK_MAX_TOKENS = 4_096;

export interface HoldQuote {
  amount: number;
  inputTokens: number;
  maxOutputTokens: number;
}

/**
 * The worst-case cost held before the upstream call: the estimated input at the dearest input-side
 * price (cache writes cost more than plain input) plus the request's max output at the output price.
 */
export const quoteHold = (
  bodyText: string,
  body: Record<string, unknown>,
  prices: Prices,
  defaultMaxTokens: number | undefined,
  discountPpm: number = FULL_PRICE_PPM,
): HoldQuote => {
  const inputTokens = estimateInputTokens(bodyText);
  const maxOutputTokens = requestedMaxTokens(body) ?? defaultMaxTokens ?? FALLBACK_MAX_TOKENS;
  const dearestInput = Math.max(prices.input, prices.cacheWrite ?? 0);
  const amount = costOf(
    { inputTokens, outputTokens: maxOutputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 },
    { input: dearestInput, output: prices.output },
    discountPpm,
  );
  return { amount, inputTokens, maxOutputTokens };
};

/** The 402 message: what is needed, what there is, and what to do. */
export const insufficientBalanceMessage = (
  quote: HoldQuote,
  model: string,
  balance: number,
  creditLimit: number,
): string =>
  `Insufficient balance: this request may cost up to ${
    Number.isSafeInteger(quote.amount) ? `$${formatUsd(quote.amount)}` : 'more than any balance can hold'
  } ` +
  `(about ${quote.inputTokens} input tokens and up to ${quote.maxOutputTokens} output tokens of ${model}), ` +
  `but the balance is $${formatUsd(balance)}${creditLimit > 0 ? ` with a credit limit of $${formatUsd(creditLimit)}` : ''}. ` +
  'Top up the account or lower max_tokens.';
