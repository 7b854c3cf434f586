import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccountWithKey, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('same-protocol passthrough to OpenAI, Anthropic and OpenAI-compatible upstreams', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let secret: string;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-test', provider: 'openai', upstreamModel: 'gpt-upstream' });
    await putRoute(db, { model: 'claude-test', provider: 'anthropic', upstreamModel: 'claude-upstream' });
    await putRoute(db, { model: 'claude-tools', provider: 'anthropic', upstreamModel: 'tool-call' });
    await putRoute(db, { model: 'gpt-tools', provider: 'openai', upstreamModel: 'parallel-tool-calls' });
    await putRoute(db, {
      model: 'compat-test',
      provider: 'openai-compatible',
      baseUrl: `${upstream.url}/v1`,
      credential: 'COMPAT_API_KEY',
    });
    ({ secret } = await createAccountWithKey(db));
    gateway = await startTestGateway(db, {
      OPENAI_API_KEY: 'sk-upstream-openai',
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
      ANTHROPIC_BASE_URL: upstream.url,
      COMPAT_API_KEY: 'compat-secret',
    });
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 });
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it("substitutes the route's upstream model, uses the operator's key and forwards every other field", async () => {
    const completion = await openai.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'ping' }],
      temperature: 0.25,
      user: 'end-user-7',
      max_completion_tokens: 64,
    });
    expect(completion.choices[0]?.message.content).toBe('fake reply to: ping');
    const seen = upstream.lastRequest;
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.model).toBe('gpt-upstream');
    expect(seen?.auth.key).toBe('sk-upstream-openai');
    expect(seen?.body).toMatchObject({ temperature: 0.25, user: 'end-user-7', max_completion_tokens: 64 });
    expect(JSON.stringify(seen?.headers)).not.toContain(secret);
  });

  it('streams an OpenAI chat completion with parallel tool calls that the SDK assembles', async () => {
    const final = await openai.chat.completions
      .stream({ model: 'gpt-tools', messages: [{ role: 'user', content: 'weather and time?' }] })
      .finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((call) => (call.type === 'function' ? call.function.name : call.type))).toEqual([
      'get_weather',
      'get_time',
    ]);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(upstream.lastRequest?.stream).toBe(true);
  });

  it('forwards the upstream stream unchanged, byte for byte, but for the cost in its usage chunk', async () => {
    const chunks = ['alpha ', 'beta ', 'gamma'];
    const body = {
      model: 'gpt-test',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'x' }],
    };
    upstream.enqueue({ chunks });
    const direct = await fetch(`${upstream.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, model: 'gpt-upstream' }),
    }).then((response) => response.text());
    upstream.enqueue({ chunks });
    const proxied = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((response) => response.text());
    // Ids and timestamps differ per answer; everything else is the same bytes.
    const normalize = (text: string) =>
      text.replace(/"id":"[^"]*"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0');
    // The usage chunk also carries the answer's cost: 10 input tokens × $1 + 20 output × $2 per million.
    const costed = direct.replace(/("usage":\{"prompt_tokens".*)\}\}\n/, '$1,"cost":0.00005}}\n');
    expect(costed).not.toBe(direct);
    expect(normalize(proxied)).toBe(normalize(costed));
  });

  it('asks an OpenAI upstream for stream usage, and keeps the usage chunk from a client that did not ask', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'no usage please' }],
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(upstream.lastRequest?.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
    expect(chunks.every((chunk) => !chunk.usage)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'fake reply to: no usage please',
    );
  });

  it('answers an Anthropic message and streams a tool call that finalMessage() parses', async () => {
    const message = await anthropic.messages.create({
      model: 'claude-test',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hello claude' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'fake reply to: hello claude' });
    expect(upstream.lastRequest?.model).toBe('claude-upstream');
    expect(upstream.lastRequest?.auth.apiKey).toBe('sk-ant-upstream');
    expect(upstream.lastRequest?.headers['anthropic-version']).toBeTruthy();

    const streamed = await anthropic.messages
      .stream({ model: 'claude-tools', max_tokens: 256, messages: [{ role: 'user', content: 'weather in Paris?' }] })
      .finalMessage();
    const toolUse = streamed.content.find((block) => block.type === 'tool_use');
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    expect(streamed.stop_reason).toBe('tool_use');
  });

  it('passes the anthropic-beta header on to Anthropic', async () => {
    await anthropic.messages.create(
      { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'beta?' }] },
      { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } },
    );
    expect(upstream.lastRequest?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
  });

  it('serves an openai-compatible route from its own base URL with the credential it names', async () => {
    const completion = await openai.chat.completions.create({
      model: 'compat-test',
      messages: [{ role: 'user', content: 'compat' }],
    });
    expect(completion.choices[0]?.message.content).toBe('fake reply to: compat');
    expect(upstream.lastRequest?.auth.key).toBe('compat-secret');
    expect(upstream.lastRequest?.model).toBe('compat-test');
  });

  it('routes by the key suffix sk-…-<provider>/<model>, overriding the body model', async () => {
    const suffixed = new Anthropic({ baseURL: gateway.url, apiKey: `${secret}-anthropic/claude-test`, maxRetries: 0 });
    const message = await suffixed.messages.create({
      model: 'whatever-the-client-sends',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'suffix' }],
    });
    expect(message.content[0]).toMatchObject({ text: 'fake reply to: suffix' });
    expect(upstream.lastRequest?.model).toBe('claude-upstream');

    const wrongProvider = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: `${secret}-openai/claude-test`,
      maxRetries: 0,
    });
    await expect(
      wrongProvider.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('lists only the models the key may use, in OpenAI or Anthropic shape', async () => {
    const all = await openai.models.list();
    expect(all.data.map((model) => model.id)).toEqual(
      expect.arrayContaining(['claude-test', 'compat-test', 'gpt-test']),
    );
    const limited = await createAccountWithKey(db, { models: ['gpt-test'] });
    const limitedOpenAI = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: limited.secret, maxRetries: 0 });
    expect((await limitedOpenAI.models.list()).data).toMatchObject([
      { id: 'gpt-test', object: 'model', owned_by: 'openai' },
    ]);

    const limitedAnthropic = new Anthropic({ baseURL: gateway.url, apiKey: limited.secret, maxRetries: 0 });
    const page = await limitedAnthropic.models.list();
    expect(page.data).toMatchObject([{ id: 'gpt-test', type: 'model' }]);
  });
});

describe('streaming through the local function-URL emulation', () => {
  it('delivers each upstream event as it arrives, not buffered to the end', async () => {
    // Prepare
    const db = await createTestDatabase();
    const upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-slow', provider: 'openai', upstreamModel: 'gpt-upstream' });
    const { secret } = await createAccountWithKey(db);
    const gateway = await startTestGateway(db, { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${upstream.url}/v1` });
    const delayMs = 40;
    upstream.enqueue({ chunks: ['a', 'b', 'c', 'd', 'e'], chunkDelayMs: delayMs });
    try {
      // Act
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-slow', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      const arrivals: number[] = [];
      const decoder = new TextDecoder();
      let text = '';
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        const piece = decoder.decode(chunk, { stream: true });
        for (let i = 0; i < (piece.match(/\n\n/g) ?? []).length; i += 1) arrivals.push(performance.now());
        text += piece;
      }
      // Assess: 8 events (role, 5 deltas, finish, [DONE]) arrived spread over the upstream's cadence.
      // A buffering proxy would deliver them all at once; slowness can only widen the spread.
      expect(text).toContain('data: [DONE]');
      expect(arrivals.length).toBe(8);
      const spread = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
      expect(spread).toBeGreaterThanOrEqual(delayMs * 5);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
