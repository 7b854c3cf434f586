import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

const PRICES = { input: 3_000_000_000, output: 15_000_000_000, cacheRead: 300_000_000, cacheWrite: 3_750_000_000 };
const WEATHER_TOOL_OPENAI: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const WEATHER_TOOL_ANTHROPIC: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('any model through either protocol', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let secret: string;
  let accountId: string;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-x', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
    await putRoute(db, { model: 'gpt-tools', provider: 'openai', upstreamModel: 'tool-call', prices: PRICES });
    await putRoute(db, {
      model: 'claude-x',
      provider: 'anthropic',
      upstreamModel: 'claude-upstream',
      prices: PRICES,
      defaultMaxTokens: 2048,
    });
    await putRoute(db, { model: 'claude-tools', provider: 'anthropic', upstreamModel: 'tool-call', prices: PRICES });
    await putRoute(db, { model: 'claude-529', provider: 'anthropic', upstreamModel: 'fail-529', prices: PRICES });
    await putRoute(db, { model: 'gpt-429', provider: 'openai', upstreamModel: 'fail-429', prices: PRICES });
    await putRoute(db, {
      model: 'embed',
      provider: 'openai',
      upstreamModel: 'text-embedding-3-small',
      prices: { input: 20_000_000, output: 0 },
    });
    ({ secret, accountId } = await createAccountWithKey(db));
    gateway = await startTestGateway(db, providerEnv(upstream));
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 });
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  describe('Anthropic SDK → OpenAI-protocol route', () => {
    it('answers a message, non-stream, translated to Chat upstream', async () => {
      const message = await anthropic.messages.create({
        model: 'gpt-x',
        max_tokens: 300,
        system: 'be brief',
        messages: [{ role: 'user', content: 'hello gpt' }],
      });
      expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-x', stop_reason: 'end_turn' });
      expect(message.content).toMatchObject([{ type: 'text', text: 'fake reply to: hello gpt' }]);
      const sent = upstream.lastRequest;
      expect(sent?.path).toBe('/v1/chat/completions');
      expect(sent?.body).toMatchObject({
        model: 'gpt-upstream',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello gpt' },
        ],
      });
    });

    it('streams a tool call and its result across two turns; finalMessage() parses the tool input', async () => {
      // Turn 1: the model calls the tool.
      const first = await anthropic.messages
        .stream({
          model: 'gpt-tools',
          max_tokens: 300,
          tools: [WEATHER_TOOL_ANTHROPIC],
          messages: [{ role: 'user', content: 'weather in Paris?' }],
        })
        .finalMessage();
      const toolUse = first.content.find((block) => block.type === 'tool_use');
      expect(toolUse).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
      expect(first.stop_reason).toBe('tool_use');
      expect(first.usage.output_tokens).toBe(20);
      if (toolUse?.type !== 'tool_use') throw new Error('no tool use');
      // Turn 2: the tool result goes back; the upstream sees it as an OpenAI tool message.
      const second = await anthropic.messages
        .stream({
          model: 'gpt-x',
          max_tokens: 300,
          tools: [WEATHER_TOOL_ANTHROPIC],
          messages: [
            { role: 'user', content: 'weather in Paris?' },
            { role: 'assistant', content: first.content },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'sunny, 21°C' }] },
          ],
        })
        .finalMessage();
      expect(second.content[0]).toMatchObject({ type: 'text' });
      expect(second.stop_reason).toBe('end_turn');
      const sentMessages =
        (upstream.lastRequest?.body as { messages: Record<string, unknown>[] } | undefined)?.messages ?? [];
      expect(sentMessages.at(-2)).toMatchObject({
        role: 'assistant',
        tool_calls: [{ id: toolUse.id, type: 'function', function: { name: 'get_weather' } }],
      });
      expect(sentMessages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: toolUse.id, content: 'sunny, 21°C' });
    });

    it('renders an OpenAI 429 as an Anthropic rate_limit_error the SDK raises', async () => {
      const error = await anthropic.messages
        .create({ model: 'gpt-429', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.RateLimitError);
      expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        type: 'error',
        error: { type: 'rate_limit_error' },
      });
      expect((error as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('1');
    });
  });

  describe('OpenAI SDK → Anthropic route', () => {
    it('answers a chat completion, non-stream, translated to Messages upstream', async () => {
      const completion = await openai.chat.completions.create({
        model: 'claude-x',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello claude' },
        ],
      });
      expect(completion).toMatchObject({ object: 'chat.completion', model: 'claude-x' });
      expect(completion.choices[0]).toMatchObject({
        finish_reason: 'stop',
        message: { role: 'assistant', content: 'fake reply to: hello claude' },
      });
      expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 });
      expect(upstream.lastRequest?.path).toBe('/v1/messages');
      expect(upstream.lastRequest?.body).toMatchObject({
        model: 'claude-upstream',
        system: [{ type: 'text', text: 'be brief' }],
        max_tokens: 2048,
      });
    });

    it('streams a tool call and its result across two turns; finalChatCompletion() parses the arguments', async () => {
      const first = await openai.chat.completions
        .stream({
          model: 'claude-tools',
          tools: [WEATHER_TOOL_OPENAI],
          messages: [{ role: 'user', content: 'weather in Paris?' }],
        })
        .finalChatCompletion();
      const call = first.choices[0]?.message.tool_calls?.[0];
      expect(first.choices[0]?.finish_reason).toBe('tool_calls');
      expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      if (call?.type !== 'function') throw new Error('no function call');
      expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

      const second = await openai.chat.completions
        .stream({
          model: 'claude-x',
          tools: [WEATHER_TOOL_OPENAI],
          messages: [
            { role: 'user', content: 'weather in Paris?' },
            { role: 'assistant', content: null, tool_calls: [call] },
            { role: 'tool', tool_call_id: call.id, content: 'sunny, 21°C' },
          ],
        })
        .finalChatCompletion();
      expect(second.choices[0]?.message.content).toContain('fake reply');
      const sent = (upstream.lastRequest?.body ?? { messages: [] }) as {
        messages: { role: string; content: unknown }[];
      };
      expect(sent.messages.at(-2)).toMatchObject({
        role: 'assistant',
        content: [{ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } }],
      });
      expect(sent.messages.at(-1)).toMatchObject({
        role: 'user',
        content: [{ type: 'tool_result', content: 'sunny, 21°C' }],
      });
    });

    it('renders an Anthropic 529 overloaded as status 529 with an OpenAI-shaped body', async () => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-529', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(response.status).toBe(529);
      const body = (await response.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe('overloaded_error');
      expect(body.error.message).toBeTruthy();
      await expect(
        openai.chat.completions.create({ model: 'claude-529', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    });
  });

  it('bills a translated request exactly as the same usage billed natively', async () => {
    const usage = { inputTokens: 700, outputTokens: 300, cachedTokens: 100, cacheCreationTokens: 50 };
    const native = await createAccountWithKey(db);
    const translated = await createAccountWithKey(db);
    upstream.enqueue({ usage }, { usage });
    await new Anthropic({ baseURL: gateway.url, apiKey: native.secret, maxRetries: 0 }).messages
      .stream({ model: 'claude-x', max_tokens: 100, messages: [{ role: 'user', content: 'native' }] })
      .finalMessage();
    const stream = await new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: translated.secret,
      maxRetries: 0,
    }).chat.completions.create({
      model: 'claude-x',
      stream: true,
      messages: [{ role: 'user', content: 'translated' }],
    });
    for await (const _ of stream);
    const [nativeRow] = await settledUsage(db, native.accountId, 1);
    const [translatedRow] = await settledUsage(db, translated.accountId, 1);
    // 700 × $3 + 100 × $0.30 + 50 × $3.75 + 300 × $15 per 1M = 2_100_000 + 30_000 + 187_500 + 4_500_000.
    expect(nativeRow?.cost).toBe(6_817_500);
    expect(translatedRow?.cost).toBe(6_817_500);
    expect(translatedRow?.usage).toEqual(nativeRow?.usage);
  });

  describe('embeddings and token counting', () => {
    it('passes embeddings through and bills their input tokens', async () => {
      const { accountId: embedder, secret: embedKey } = await createAccountWithKey(db);
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: embedKey, maxRetries: 0 });
      const result = await client.embeddings.create({ model: 'embed', input: ['one', 'two'] });
      expect(result.data).toHaveLength(2);
      expect(upstream.lastRequest?.body).toMatchObject({ model: 'text-embedding-3-small', input: ['one', 'two'] });
      const [row] = await settledUsage(db, embedder, 1);
      expect(row?.usage?.inputTokens).toBe(result.usage.prompt_tokens);
      expect(row?.cost).toBe(Math.ceil((result.usage.prompt_tokens * 20_000_000) / 1_000_000));
    });

    it('refuses embeddings on an Anthropic route with a 400 that says where they are served', async () => {
      const error = await openai.embeddings.create({ model: 'claude-x', input: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as Error).message).toContain('OpenAI-protocol routes');
    });

    it('counts tokens through Anthropic, estimates them elsewhere, and never bills either', async () => {
      const counter = await createAccountWithKey(db);
      const client = new Anthropic({ baseURL: gateway.url, apiKey: counter.secret, maxRetries: 0 });
      const upstreamCount = await client.messages.countTokens({
        model: 'claude-x',
        messages: [{ role: 'user', content: 'count me' }],
      });
      expect(upstreamCount.input_tokens).toBeGreaterThan(0);
      expect(upstream.lastRequest?.path).toBe('/v1/messages/count_tokens');
      upstream.reset();
      const estimated = await client.messages.countTokens({
        model: 'gpt-x',
        messages: [{ role: 'user', content: 'count me' }],
      });
      expect(estimated.input_tokens).toBe(
        Math.ceil(JSON.stringify(['', [{ role: 'user', content: 'count me' }], []]).length / 4),
      );
      expect(upstream.requestCount).toBe(0);
      const rows = await db.stores.wallets.allLedgerRows(counter.accountId);
      expect(rows.filter((row) => row.kind === 'usage')).toEqual([]);
    });
  });

  it('leaves the main account’s ledger consistent', async () => {
    const wallet = await db.stores.wallets.get(accountId);
    expect(wallet?.balance).toBeLessThanOrEqual(5_000_000_000);
  });
});
