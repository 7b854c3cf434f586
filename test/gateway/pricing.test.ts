import { describe, expect, it } from 'vitest';
import {
  CHARS_PER_INPUT_TOKEN,
  estimateInputTokens,
  PAGES_OF_A_LINKED_DOCUMENT,
  quoteHold,
  TOKENS_PER_IMAGE,
  TOKENS_PER_PDF_PAGE,
} from '../../lambdas/gateway/pricing.ts';

/** The estimate of a body, from its JSON text as the gateway received it. */
const estimate = (body: Record<string, unknown>): number => estimateInputTokens(JSON.stringify(body), body);
const textTokens = (body: Record<string, unknown>): number =>
  Math.ceil(JSON.stringify(body).length / CHARS_PER_INPUT_TOKEN);

/** A base64 PDF with `pages` page objects (and its page tree, which is not a page). */
const pdf = (pages: number): string =>
  Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Pages /Count ${pages} >> endobj\n${'2 0 obj << /Type /Page >> endobj\n'.repeat(pages)}%%EOF`,
  ).toString('base64');

describe('estimateInputTokens', () => {
  it('counts the whole JSON body as text, one token per 3 characters', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hello there, how are you?' }] };
    expect(estimate(body)).toBe(textTokens(body));
  });

  it('counts base64-looking text in a message as text, not as a cheap image', () => {
    const blob = Buffer.alloc(30_000, 7).toString('base64');
    const body = { messages: [{ role: 'user', content: blob }] };
    expect(estimate(body)).toBe(textTokens(body));
    expect(estimate(body)).toBeGreaterThan(blob.length / 3);
  });

  it('counts an image by its own rule where each wire format puts one, whatever its size', () => {
    const data = Buffer.alloc(300_000, 1).toString('base64');
    const bodies = [
      {
        messages: [
          { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }] },
        ],
      },
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }] },
        ],
      },
      { input: [{ role: 'user', content: [{ type: 'input_image', image_url: `data:image/png;base64,${data}` }] }] },
    ];
    for (const body of bodies) {
      const overhead = JSON.stringify(body).length - data.length;
      expect(estimate(body)).toBeGreaterThanOrEqual(TOKENS_PER_IMAGE);
      expect(estimate(body)).toBeLessThanOrEqual(TOKENS_PER_IMAGE + Math.ceil(overhead / CHARS_PER_INPUT_TOKEN) + 20);
    }
  });

  it('counts a PDF by its pages, and a linked PDF as 30 pages', () => {
    const inline = {
      messages: [
        {
          role: 'user',
          content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf(7) } }],
        },
      ],
    };
    expect(estimate(inline)).toBeGreaterThanOrEqual(7 * TOKENS_PER_PDF_PAGE);
    expect(estimate(inline)).toBeLessThan(8 * TOKENS_PER_PDF_PAGE);
    const linked = {
      input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/a.pdf' }] }],
    };
    expect(estimate(linked)).toBeGreaterThanOrEqual(PAGES_OF_A_LINKED_DOCUMENT * TOKENS_PER_PDF_PAGE);
  });

  it('counts each token id of an embeddings input as a token at least, though "0," is 2 characters', () => {
    const ids = Array.from({ length: 9_000 }, () => 0);
    const body = { model: 'e', input: [ids] };
    expect(estimate(body)).toBeGreaterThanOrEqual(ids.length);
  });
});

describe('quoteHold', () => {
  it('holds the output cap times the choices at the output price, plus the input at the dearest input-side price', () => {
    const body = { messages: [{ role: 'user', content: 'hi' }] };
    const text = JSON.stringify(body);
    const prices = { input: 1_000_000_000, output: 2_000_000_000, cacheWrite: 1_250_000_000 };
    const quote = quoteHold(text, body, { tokens: 100, choices: 3 }, prices);
    expect(quote.maxOutputTokens).toBe(300);
    expect(quote.amount).toBe(quote.inputTokens * 1_250 + 300 * 2_000);
  });
});
