import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

const PRICES = { input: 3_000_000_000, output: 15_000_000_000, cacheRead: 300_000_000, cacheWrite: 3_750_000_000 };
const WEATHER: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

describe('POST /v1/responses (Codex and the OpenAI SDK)', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-5.3-codex', provider: 'openai', prices: PRICES });
    await putRoute(db, { model: 'claude-x', provider: 'anthropic', upstreamModel: 'claude-upstream', prices: PRICES });
    await putRoute(db, { model: 'claude-tools', provider: 'anthropic', upstreamModel: 'tool-call', prices: PRICES });
    await putRoute(db, { model: 'tollgate-echo', provider: 'echo' });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const client = (secret: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });

  it('passes a Responses request through to an OpenAI route, stream and not, and bills response.completed usage', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    const openai = client(secret);
    upstream.enqueue(
      { usage: { inputTokens: 1000, outputTokens: 500, cachedTokens: 200 } },
      { usage: { inputTokens: 1000, outputTokens: 500 } },
    );
    const response = await openai.responses.create({ model: 'gpt-5.3-codex', input: 'write a haiku' });
    expect(response.output_text).toBe('fake reply to: write a haiku');
    expect(upstream.lastRequest?.path).toBe('/v1/responses');
    const streamed = await openai.responses.stream({ model: 'gpt-5.3-codex', input: 'stream it' }).finalResponse();
    expect(streamed.output_text).toBe('fake reply to: stream it');
    const rows = await settledUsage(db, accountId, 2);
    // 1000 × $3 + 200 × $0.30 + 500 × $15 = 10_560_000; without cache 10_500_000 nano-USD.
    expect(rows.map((row) => row.cost).sort()).toEqual([10_500_000, 10_560_000]);
  });

  it('translates Responses to an Anthropic route and back, non-stream', async () => {
    const { secret } = await createAccountWithKey(db);
    const response = await client(secret).responses.create({
      model: 'claude-x',
      instructions: 'be brief',
      input: [{ role: 'user', content: 'hello from codex' }],
      max_output_tokens: 256,
    });
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'claude-x' });
    expect(response.output_text).toBe('fake reply to: hello from codex');
    expect(upstream.lastRequest?.path).toBe('/v1/messages');
    expect(upstream.lastRequest?.body).toMatchObject({ model: 'claude-upstream', max_tokens: 256 });
  });

  it('streams a function call from an Anthropic route, then takes its output on the next turn', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    const openai = client(secret);
    const first = await openai.responses
      .stream({ model: 'claude-tools', tools: [WEATHER], input: 'weather in Paris?' })
      .finalResponse();
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
    if (call?.type !== 'function_call') throw new Error('no function call');
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });

    const second = await openai.responses
      .stream({
        model: 'claude-x',
        tools: [WEATHER],
        input: [
          { role: 'user', content: 'weather in Paris?' },
          { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
          { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' },
        ],
      })
      .finalResponse();
    expect(second.status).toBe('completed');
    const sent = (upstream.lastRequest?.body ?? { messages: [] }) as { messages: { role: string; content: unknown }[] };
    expect(sent.messages.at(-1)).toMatchObject({
      role: 'user',
      content: [{ type: 'tool_result', content: 'sunny, 21°C' }],
    });
    expect(await settledUsage(db, accountId, 2)).toHaveLength(2);
  });

  it('refuses what an Anthropic route cannot serve with a 400 that says where it is served', async () => {
    const { secret } = await createAccountWithKey(db);
    const error = await client(secret)
      .responses.create({ model: 'claude-x', input: 'x', store: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain('OpenAI-protocol routes');
    expect(upstream.requestCount).toBe(0);
  });

  it('answers Responses offline on tollgate-echo', async () => {
    const { secret } = await createAccountWithKey(db);
    const response = await client(secret)
      .responses.stream({ model: 'tollgate-echo', input: 'echo me' })
      .finalResponse();
    expect(response.output_text).toBe('echo me');
  });
});
