import Anthropic from '@anthropic-ai/sdk';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $1 in, $2 out per million tokens: 1 input token = 1_000 nano-USD, 1 output token = 2_000.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const FIVE_USD = 5_000_000_000;
const BROKEN = 'Upstream connection failed mid-stream';

/** The events of an SSE body, as a client's SSE parser reads them. */
const sseEvents = (body: string): EventSourceMessage[] => {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(body);
  return events;
};

const sse = (event: string | undefined, data: unknown) =>
  `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

/** An Anthropic stream that reported 10 input tokens, streamed "Hello, world", and is cut inside its next event. */
const ANTHROPIC_CUT_MID_EVENT = [
  sse('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_cut',
      type: 'message',
      role: 'assistant',
      model: 'claude-upstream',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 1 },
    },
  }),
  sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello, ' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'world' } }),
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de',
];

const chatChunk = (content: string) => ({
  id: 'chatcmpl-cut',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-upstream',
  choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
});

/** An OpenAI chat stream that streamed "Hello, world" and is cut inside its next chunk (no usage yet). */
const OPENAI_CUT_MID_EVENT = [
  sse(undefined, chatChunk('Hello, ')),
  sse(undefined, chatChunk('world')),
  'data: {"id":"chatcmpl-cut","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"and mo',
];

/**
 * Output streamed, then the upstream dies before reporting (final) usage (issue 10): the request is
 * billed the documented estimate, never more than the hold, and the client's parser reads the
 * protocol's in-stream error on an event boundary.
 */
describe('streams that break after output reached the client', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
    await putRoute(db, { model: 'claude', provider: 'anthropic', upstreamModel: 'claude-upstream', prices: PRICES });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const post = (secret: string, path: string, body: Record<string, unknown>) => gateway.post(secret, path, body);

  const TEXT = 'one two three four five six seven eight';
  const requestFor = (path: string, model: string): Record<string, unknown> =>
    path === '/v1/responses'
      ? { model, stream: true, max_output_tokens: 200, input: 'count to eight' }
      : { model, stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'count to eight' }] };

  // Cut after the headers, the start events and two text deltas of each upstream's wire format.
  const CUT_AFTER = { gpt: 3, claude: 5 } as const;

  it.each([
    ['/v1/chat/completions', 'gpt', 'passed through'],
    ['/v1/chat/completions', 'claude', 'translated from Anthropic'],
    ['/v1/messages', 'claude', 'passed through'],
    ['/v1/messages', 'gpt', 'translated from OpenAI chat'],
    ['/v1/responses', 'claude', 'translated from Anthropic'],
  ] as const)('%s on %s (%s): bills the streamed output, estimated, within the hold', async (path, model, _how) => {
    // Prepare
    const { accountId, secret } = await createAccountWithKey(db);
    upstream.enqueue({ chunks: TEXT.split(/(?<= )/), resetAfterChunks: CUT_AFTER[model] });
    // Act
    const body = await (await post(secret, path, requestFor(path, model))).text();
    // Assess: the client read some output, then the protocol's error event
    expect(body).toContain('one ');
    expect(body).toContain(BROKEN);
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({ outcome: 'upstream_error', estimated: true });
    expect(row?.usage?.outputTokens).toBeGreaterThan(0);
    expect(row?.cost).toBeGreaterThan(0);
    expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
    expect(row?.overrun).toBeUndefined();
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - (row?.cost ?? 0));
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it('bills a Responses stream passed through to OpenAI that broke after its first text', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    // created, in_progress, output_item.added, content_part.added, then two text deltas
    upstream.enqueue({ chunks: TEXT.split(/(?<= )/), resetAfterChunks: 6 });
    const body = await (await post(secret, '/v1/responses', requestFor('/v1/responses', 'gpt'))).text();
    const last = sseEvents(body).at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ type: 'error', message: BROKEN, sequence_number: 6 });
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({ outcome: 'upstream_error', estimated: true });
    expect(row?.cost).toBeGreaterThan(0);
    expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it('releases the hold in full when a stream breaks before any output reached the client', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    upstream.enqueue({ resetAfterChunks: 1 }); // the role chunk only
    const body = await (await post(secret, '/v1/chat/completions', requestFor('/v1/chat/completions', 'gpt'))).text();
    expect(body).toContain(BROKEN);
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({ outcome: 'upstream_error', cost: 0 });
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD);
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  describe('cut in the middle of an event', () => {
    it('ends an Anthropic pass-through with an error event that starts on an event boundary', async () => {
      // Prepare
      const { accountId, secret } = await createAccountWithKey(db);
      upstream.enqueue({ rawFrames: ANTHROPIC_CUT_MID_EVENT, resetAfterChunks: ANTHROPIC_CUT_MID_EVENT.length });
      // Act
      const body = await (await post(secret, '/v1/messages', requestFor('/v1/messages', 'claude'))).text();
      // Assess: the raw bytes — whole events, the partial one dropped, the error right after a blank line
      expect(body).not.toContain('"text_de"');
      const at = body.indexOf('event: error\n');
      expect(at).toBeGreaterThan(0);
      expect(body.slice(at - 2, at)).toBe('\n\n');
      expect(body.endsWith('\n\n')).toBe(true);
      // …and a client's SSE parser reads every event as JSON, the last one the error
      const events = sseEvents(body);
      expect(events.map((event) => event.event)).toEqual([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'error',
      ]);
      for (const event of events) expect(() => JSON.parse(event.data)).not.toThrow();
      expect(JSON.parse(events.at(-1)?.data ?? '{}')).toEqual({
        type: 'error',
        error: { type: 'api_error', message: BROKEN },
      });
      // Billed: the 10 input tokens reported, the streamed output estimated
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'upstream_error', estimated: true, usage: { inputTokens: 10 } });
      expect(row?.usage?.outputTokens).toBe(Math.ceil('Hello, world'.length / 4));
      expect(row?.cost).toBe(10 * 1_000 + Math.ceil('Hello, world'.length / 4) * 2_000);
      expect((await audit(db, accountId)).difference).toBe(0);
    });

    it("lets the official Anthropic SDK read the text, then throw the gateway's error", async () => {
      const { accountId, secret } = await createAccountWithKey(db);
      upstream.enqueue({ rawFrames: ANTHROPIC_CUT_MID_EVENT, resetAfterChunks: ANTHROPIC_CUT_MID_EVENT.length });
      const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 });
      const stream = await anthropic.messages.create({
        model: 'claude',
        max_tokens: 200,
        stream: true,
        messages: [{ role: 'user', content: 'hello' }],
      });
      let text = '';
      const reading = (async () => {
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        }
      })();
      await expect(reading).rejects.toBeInstanceOf(Anthropic.APIError);
      await expect(reading).rejects.toThrow(BROKEN);
      expect(text).toBe('Hello, world');
      await settledUsage(db, accountId, 1);
    });

    it("lets the official OpenAI SDK read the text, then throw the gateway's error chunk", async () => {
      const { accountId, secret } = await createAccountWithKey(db);
      upstream.enqueue({ rawFrames: OPENAI_CUT_MID_EVENT, resetAfterChunks: OPENAI_CUT_MID_EVENT.length });
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
      const stream = await openai.chat.completions.create({
        model: 'gpt',
        max_tokens: 200,
        stream: true,
        messages: [{ role: 'user', content: 'hello' }],
      });
      let text = '';
      const reading = (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })();
      await expect(reading).rejects.toBeInstanceOf(OpenAI.APIError);
      await expect(reading).rejects.toThrow(BROKEN);
      expect(text).toBe('Hello, world');
      // No usage ever came: the request is billed by the estimate, the output being what was streamed
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'upstream_error', estimated: true });
      expect(row?.usage?.outputTokens).toBe(Math.ceil('Hello, world'.length / 4));
      expect(row?.cost).toBeGreaterThan(0);
      expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
      expect((await audit(db, accountId)).difference).toBe(0);
    });
  });
});
