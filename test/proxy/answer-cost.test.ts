import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatUsd } from '../../lambdas/gateway/money.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens; the fallback costs more.
const PRICES = { input: 3_000_000_000, output: 15_000_000_000, cacheRead: 300_000_000, cacheWrite: 3_750_000_000 };
const BACKUP_PRICES = { input: 7_000_000_000, output: 21_000_000_000 };
// A third off, so that costs round up (as the ledger does, once).
const DISCOUNT_PPM = 666_667;
const USAGE = { inputTokens: 1234, outputTokens: 567, cachedTokens: 89 };

/** What a client saw: the response's headers and its raw body text (a copy read beside the SDK's). */
interface Seen {
  headers: Headers;
  text: Promise<string>;
}

type CostedUsage = { cost?: number } | null | undefined;
type SettledRow = UsageRow & { cost: number };

describe('every successful answer carries its exact cost', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  /** SDK clients for a fresh discounted account, whose fetch keeps a copy of every answer. */
  const account = async () => {
    const { accountId, secret } = await createAccountWithKey(db, { discountPpm: DISCOUNT_PPM });
    const seen: Seen[] = [];
    const fetchCopy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      seen.push({ headers: response.headers, text: response.clone().text() });
      return response;
    };
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0, fetch: fetchCopy });
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0, fetch: fetchCopy });
    /** The one answer seen; its settled ledger row. */
    const settled = async (): Promise<{ row: SettledRow; text: string; headers: Headers }> => {
      const [row] = await settledUsage(db, accountId, 1);
      expect(seen).toHaveLength(1);
      const [answer] = seen;
      if (row?.cost === undefined || !answer) throw new Error('no settled answer');
      return { row: { ...row, cost: row.cost }, text: await answer.text, headers: answer.headers };
    };
    return { openai, anthropic, settled };
  };

  /** The cost the client parsed, and the raw text, are the ledger row's cost to the nano-USD. */
  const expectLedgerCost = (row: SettledRow, cost: number | undefined, text: string) => {
    expect(row.outcome).toBe('completed');
    expect(row.discountPpm).toBe(DISCOUNT_PPM);
    expect(row.cost).toBeGreaterThan(0);
    expect(cost).toBeTypeOf('number');
    expect(Math.round((cost ?? 0) * 1e9)).toBe(row.cost);
    // The JSON text is the exact decimal (formatUsd without its trailing zeros), once.
    const decimal = formatUsd(row.cost).replace(/\.?0+$/, '');
    expect(JSON.stringify(cost)).toBe(decimal);
    expect(text.split(`"cost":${decimal}`)).toHaveLength(2);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-c', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
    await putRoute(db, { model: 'claude-c', provider: 'anthropic', upstreamModel: 'claude-upstream', prices: PRICES });
    await putRoute(db, { model: 'embed-c', provider: 'openai', prices: { input: 20_000_000, output: 0 } });
    await putRoute(db, {
      model: 'claude-backup',
      provider: 'anthropic',
      upstreamModel: 'claude-upstream',
      prices: BACKUP_PRICES,
    });
    await putRoute(db, {
      model: 'gpt-down',
      provider: 'openai',
      upstreamModel: 'fail-503',
      prices: PRICES,
      fallbacks: ['claude-backup'],
    });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => {
    upstream.reset();
    upstream.script(() => ({ usage: USAGE }));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  describe('OpenAI Chat', () => {
    it.each(['gpt-c', 'claude-c', 'gpt-down'])(
      'non-stream on %s: usage.cost and x-tollgate-cost-usd',
      async (model) => {
        // Prepare
        const { openai, settled } = await account();
        // Act
        const completion = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
        // Assess
        const { row, text, headers } = await settled();
        expectLedgerCost(row, (completion.usage as CostedUsage)?.cost, text);
        expect(headers.get('x-tollgate-cost-usd')).toBe(formatUsd(row.cost));
        // A fallback answered: its prices, not the chosen route's.
        if (model === 'gpt-down') expect(row.prices).toEqual(BACKUP_PRICES);
      },
    );

    it.each(['gpt-c', 'claude-c', 'gpt-down'])('stream on %s: the usage chunk carries usage.cost', async (model) => {
      // Prepare
      const { openai, settled } = await account();
      const usages: CostedUsage[] = [];
      // Act
      const stream = openai.chat.completions.stream({
        model,
        messages: [{ role: 'user', content: 'hi' }],
        stream_options: { include_usage: true },
      });
      stream.on('chunk', (chunk) => {
        if (chunk.usage) usages.push(chunk.usage as CostedUsage);
      });
      const final = await stream.finalChatCompletion();
      // Assess
      expect(final.choices[0]?.message.content).toContain('fake reply');
      const { row, text, headers } = await settled();
      expect(usages).toHaveLength(1);
      expectLedgerCost(row, usages[0]?.cost, text);
      expect(headers.get('x-tollgate-cost-usd')).toBeNull();
      if (model === 'gpt-down') expect(row.model).toBe('claude-backup');
    });

    it.each(['gpt-c', 'claude-c'])(
      'stream on %s without include_usage: no usage chunk, so no cost, and still billed',
      async (model) => {
        // Prepare
        const { openai, settled } = await account();
        const chunks: OpenAI.ChatCompletionChunk[] = [];
        // Act
        const stream = openai.chat.completions.stream({ model, messages: [{ role: 'user', content: 'hi' }] });
        stream.on('chunk', (chunk) => chunks.push(chunk));
        const final = await stream.finalChatCompletion();
        // Assess
        expect(final.choices[0]?.message.content).toContain('fake reply');
        expect(chunks.some((chunk) => chunk.usage)).toBe(false);
        const { row, text } = await settled();
        expect(row.cost).toBeGreaterThan(0);
        expect(text).not.toContain('"cost"');
      },
    );
  });

  describe('Anthropic Messages', () => {
    it.each(['claude-c', 'gpt-c'])('non-stream on %s: usage.cost and x-tollgate-cost-usd', async (model) => {
      // Prepare
      const { anthropic, settled } = await account();
      // Act
      const message = await anthropic.messages.create({
        model,
        max_tokens: 1024,
        messages: [{ role: 'user', content: 'hi' }],
      });
      // Assess
      const { row, text, headers } = await settled();
      expectLedgerCost(row, (message.usage as CostedUsage)?.cost, text);
      expect(headers.get('x-tollgate-cost-usd')).toBe(formatUsd(row.cost));
    });

    it.each(['claude-c', 'gpt-c'])('stream on %s: the final message_delta carries usage.cost', async (model) => {
      // Prepare
      const { anthropic, settled } = await account();
      const usages: CostedUsage[] = [];
      // Act
      const stream = anthropic.messages.stream({
        model,
        max_tokens: 1024,
        messages: [{ role: 'user', content: 'hi' }],
      });
      stream.on('streamEvent', (event) => {
        if (event.type === 'message_delta') usages.push(event.usage as CostedUsage);
      });
      const final = await stream.finalMessage();
      // Assess
      expect(final.content[0]).toMatchObject({ type: 'text' });
      const { row, text } = await settled();
      expect(usages).toHaveLength(1);
      expectLedgerCost(row, usages[0]?.cost, text);
      expect(final.usage.output_tokens).toBe(row.usage?.outputTokens);
    });
  });

  describe('OpenAI Responses', () => {
    it.each(['gpt-c', 'claude-c'])('non-stream on %s: usage.cost and x-tollgate-cost-usd', async (model) => {
      // Prepare
      const { openai, settled } = await account();
      // Act
      const response = await openai.responses.create({ model, input: 'hi' });
      // Assess
      const { row, text, headers } = await settled();
      expectLedgerCost(row, (response.usage as CostedUsage)?.cost, text);
      expect(headers.get('x-tollgate-cost-usd')).toBe(formatUsd(row.cost));
    });

    it.each(['gpt-c', 'claude-c'])('stream on %s: response.completed carries response.usage.cost', async (model) => {
      // Prepare
      const { openai, settled } = await account();
      // Act
      const final = await openai.responses.stream({ model, input: 'hi' }).finalResponse();
      // Assess
      expect(final.output_text).toContain('fake reply');
      const { row, text } = await settled();
      expectLedgerCost(row, (final.usage as CostedUsage)?.cost, text);
    });
  });

  describe('OpenAI Embeddings', () => {
    it('carries usage.cost and x-tollgate-cost-usd', async () => {
      // Prepare
      const { openai, settled } = await account();
      // Act
      const embeddings = await openai.embeddings.create({ model: 'embed-c', input: 'a few words to embed' });
      // Assess
      const { row, text, headers } = await settled();
      expectLedgerCost(row, (embeddings.usage as CostedUsage)?.cost, text);
      expect(headers.get('x-tollgate-cost-usd')).toBe(formatUsd(row.cost));
    });
  });

  describe('same-protocol streams: the upstream bytes, cost added only to the final usage event', () => {
    const messageDelta =
      '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":567}}';
    const anthropicStream = [
      'event: message_start',
      'data: {"type":"message_start","message":{"id":"msg_split","type":"message","role":"assistant","model":"claude-upstream","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1234,"cache_read_input_tokens":89,"cache_creation_input_tokens":0,"output_tokens":1}}}',
      '',
      'event: content_block_start',
      'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
      '',
      'event: ping',
      'data: {"type": "ping"}',
      '',
      'event: content_block_delta',
      'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"split"}}',
      '',
      'event: content_block_stop',
      'data: {"type":"content_block_stop","index":0}',
      '',
      'event: message_delta',
      `data: ${messageDelta}`,
      '',
      'event: ping',
      'data: {"type": "ping"}',
      '',
      'event: message_stop',
      'data: {"type":"message_stop"}',
      '',
      '',
    ];
    /** `text` in pieces cut inside the events around the final usage (and a blank line split in two). */
    const pieces = (text: string): string[] => {
      const cuts = [
        text.indexOf('"text":"split"'),
        text.indexOf('event: message_delta') - 1,
        text.indexOf('"usage":{"output_tokens":567'),
        text.indexOf('{"type":"message_stop"}') + 5,
      ];
      return [0, ...cuts].map((at, index) => text.slice(at, cuts[index] ?? text.length));
    };

    it.each([
      ['LF', '\n'],
      ['CRLF', '\r\n'],
    ])('Messages stream with %s line ends, cut mid-event', async (_, newline) => {
      // Prepare
      const { anthropic, settled } = await account();
      const upstreamText = anthropicStream.join(newline);
      upstream.script(() => ({ rawFrames: pieces(upstreamText), chunkDelayMs: 5 }));
      const usages: CostedUsage[] = [];
      // Act
      const stream = anthropic.messages.stream({
        model: 'claude-c',
        max_tokens: 1024,
        messages: [{ role: 'user', content: 'hi' }],
      });
      stream.on('streamEvent', (event) => {
        if (event.type === 'message_delta') usages.push(event.usage as CostedUsage);
      });
      const final = await stream.finalMessage();
      // Assess
      expect(final.content).toEqual([{ type: 'text', text: 'split' }]);
      expect(final.usage).toMatchObject({ input_tokens: 1234, cache_read_input_tokens: 89, output_tokens: 567 });
      const { row, text } = await settled();
      expect(usages).toHaveLength(1);
      expectLedgerCost(row, usages[0]?.cost, text);
      if (newline === '\n') {
        const decimal = formatUsd(row.cost).replace(/\.?0+$/, '');
        expect(text).toBe(upstreamText.replace(messageDelta, messageDelta.replace('567}', `567,"cost":${decimal}}`)));
      }
    });

    it('Chat stream with include_usage, the usage chunk cut in two', async () => {
      // Prepare
      const { openai, settled } = await account();
      const chunk = (fields: string) =>
        `data: {"id":"chatcmpl-split","object":"chat.completion.chunk","created":1,"model":"gpt-upstream",${fields}}\n\n`;
      const usageChunk = chunk(
        '"choices":[],"usage":{"prompt_tokens":1323,"completion_tokens":567,"total_tokens":1890,"prompt_tokens_details":{"cached_tokens":89}}',
      );
      const frames = [
        chunk(
          '"choices":[{"index":0,"delta":{"role":"assistant","content":"split"},"finish_reason":null}],"usage":null',
        ),
        chunk('"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null') + usageChunk.slice(0, 40),
        usageChunk.slice(40, -1),
        `${usageChunk.slice(-1)}data: [DONE]\n\n`,
      ];
      upstream.script(() => ({ rawFrames: frames, chunkDelayMs: 5 }));
      const usages: CostedUsage[] = [];
      // Act
      const stream = openai.chat.completions.stream({
        model: 'gpt-c',
        messages: [{ role: 'user', content: 'hi' }],
        stream_options: { include_usage: true },
      });
      stream.on('chunk', (c) => {
        if (c.usage) usages.push(c.usage as CostedUsage);
      });
      const final = await stream.finalChatCompletion();
      // Assess
      expect(final.choices[0]?.message.content).toBe('split');
      const { row, text } = await settled();
      expect(usages).toHaveLength(1);
      expectLedgerCost(row, usages[0]?.cost, text);
      const decimal = formatUsd(row.cost).replace(/\.?0+$/, '');
      expect(text).toBe(frames.join('').replace('{"cached_tokens":89}}', `{"cached_tokens":89},"cost":${decimal}}`));
    });
  });

  it('sends no cost when the upstream reported no usage', async () => {
    // Prepare
    const { openai, settled } = await account();
    upstream.script(() => ({ omitUsage: true }));
    // Act
    await openai.chat.completions.create({ model: 'gpt-c', messages: [{ role: 'user', content: 'hi' }] });
    // Assess
    const { row, text, headers } = await settled();
    expect(row.estimated).toBe(true);
    expect(text).not.toContain('"cost"');
    expect(headers.get('x-tollgate-cost-usd')).toBeNull();
  });
});
