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

/**
 * Tokens one image is counted as, whatever its size. Anthropic scales images to about 1.15
 * megapixels (≈ 1,600 tokens at most); OpenAI's high detail costs at most ≈ 1,100 tokens on
 * 4o-class models and ≈ 2,500 on the patch-priced mini models. 2,500 covers all of them.
 */
export const TOKENS_PER_IMAGE = 2_500;
/** Tokens one PDF page is counted as: Anthropic bills 1,500–3,000 per page (its text plus its image). */
export const TOKENS_PER_PDF_PAGE = 3_000;
/** Pages assumed for a document given by URL, whose length cannot be known before the upstream reads it. */
export const PAGES_OF_A_LINKED_DOCUMENT = 30;
/** Characters per token for the text of a request: real tokenizers average nearer 4 for prose and code. */
export const CHARS_PER_INPUT_TOKEN = 3;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';

/** Pages of a base64 PDF: its page objects (`/Type /Page`), at least one. */
const pdfPages = (base64: string): number => {
  const text = Buffer.from(base64.replace(/^data:[^,]*,/, ''), 'base64').toString('latin1');
  return Math.max(1, text.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0);
};

/** A binary part of a request, found where each wire format puts one, and what it is counted as. */
const binaryPart = (node: Record<string, unknown>): { chars: number; tokens: number } | undefined => {
  const { type, source } = node;
  // Anthropic: { type: 'image' | 'document', source: { type: 'base64' | 'url', data | url } }.
  if ((type === 'image' || type === 'document') && isObject(source)) {
    const data =
      typeof source['data'] === 'string' ? source['data'] : typeof source['url'] === 'string' ? source['url'] : '';
    if (source['type'] === 'text' || source['type'] === 'content') return undefined; // text, counted as text
    if (type === 'image') return { chars: data.length, tokens: TOKENS_PER_IMAGE };
    const pages = source['type'] === 'base64' ? pdfPages(data) : PAGES_OF_A_LINKED_DOCUMENT;
    return { chars: data.length, tokens: pages * TOKENS_PER_PDF_PAGE };
  }
  // OpenAI Chat: { type: 'image_url', image_url: { url } } and { type: 'file', file: { file_data } }.
  if (type === 'image_url' && isObject(node['image_url']) && typeof node['image_url']['url'] === 'string') {
    return { chars: node['image_url']['url'].length, tokens: TOKENS_PER_IMAGE };
  }
  if (type === 'file' && isObject(node['file']) && typeof node['file']['file_data'] === 'string') {
    return {
      chars: node['file']['file_data'].length,
      tokens: pdfPages(node['file']['file_data']) * TOKENS_PER_PDF_PAGE,
    };
  }
  // OpenAI Responses: { type: 'input_image', image_url } and { type: 'input_file', file_data | file_url }.
  if (type === 'input_image' && typeof node['image_url'] === 'string') {
    return { chars: node['image_url'].length, tokens: TOKENS_PER_IMAGE };
  }
  if (type === 'input_file') {
    if (typeof node['file_data'] === 'string') {
      return { chars: node['file_data'].length, tokens: pdfPages(node['file_data']) * TOKENS_PER_PDF_PAGE };
    }
    return { chars: 0, tokens: PAGES_OF_A_LINKED_DOCUMENT * TOKENS_PER_PDF_PAGE };
  }
  return undefined;
};

/**
 * A documented, upper-leaning estimate of a request's input tokens, for the hold. Images and PDFs
 * count by their own rule, and only where a wire format puts them (image: 2,500 tokens; PDF: 3,000
 * per page; a linked PDF: 30 pages); all the rest of the JSON body is text at one token per 3
 * characters, however it looks — base64-like text in a message is text — and each number in an
 * array counts one token more (token ids, as embeddings take them).
 *
 * How wrong it can be: prose and code average about 4 characters per token, so the text is usually
 * over-counted by a third. Text that tokenizes worse than 3 characters per token (random-looking
 * strings, some non-Latin scripts), PDFs whose pages hide in compressed object streams, and linked
 * PDFs over 30 pages are under-counted; the settle debits the real usage anyway and flags the row
 * `overrun` when it exceeds the hold.
 *
 * @example estimateInputTokens('{"messages":[{"role":"user","content":"Hi"}]}', body) // 16
 */
export const estimateInputTokens = (bodyText: string, body: unknown): number => {
  let binaryChars = 0;
  let binaryTokens = 0;
  let tokenIds = 0;
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (!isObject(value)) continue;
    const part = Array.isArray(value) ? undefined : binaryPart(value);
    if (part) {
      binaryChars += part.chars;
      binaryTokens += part.tokens;
      continue;
    }
    for (const child of Object.values(value)) {
      if (isObject(child)) stack.push(child);
      // Numbers in an array may be token ids (embeddings' `input: [[0, 0, …]]`): "0," is one token in 2 characters.
      else if (Array.isArray(value) && typeof child === 'number') tokenIds += 1;
    }
  }
  const textChars = Math.max(0, bodyText.length - binaryChars);
  return Math.ceil(textChars / CHARS_PER_INPUT_TOKEN) + binaryTokens + tokenIds;
};

export interface HoldQuote {
  amount: number;
  inputTokens: number;
  /** Output tokens held for: the cap per choice × the choices. */
  maxOutputTokens: number;
}

/**
 * The worst-case cost held before the upstream call: the estimated input at the dearest input-side
 * price (cache writes cost more than plain input) plus the output cap × choices at the output price.
 *
 * @example quoteHold(text, body, { tokens: 1000, choices: 2 }, prices).maxOutputTokens // 2000
 */
export const quoteHold = (
  bodyText: string,
  body: unknown,
  cap: { tokens: number; choices: number },
  prices: Prices,
  discountPpm: number = FULL_PRICE_PPM,
): HoldQuote => {
  const inputTokens = estimateInputTokens(bodyText, body);
  const maxOutputTokens = cap.tokens * cap.choices;
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
