import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../lambdas/store/dynamodb-local.ts';
import { createAccountWithKey, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

type OpenAIAPIError = InstanceType<typeof OpenAI.APIError>;
type AnthropicAPIError = InstanceType<typeof Anthropic.APIError>;

describe('the error contract (DESIGN §5)', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let secret: string;
  let openai: OpenAI;
  let anthropic: Anthropic;

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
      body,
    });
  const chat = (model: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
    openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
  const message = (model: string) =>
    anthropic.messages.create({ model, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    const closedPort = await freePort();
    const routes = [
      { model: 'gpt-ok', provider: 'openai', upstreamModel: 'gpt-upstream' },
      { model: 'claude-ok', provider: 'anthropic' },
      { model: 'gpt-429', provider: 'openai', upstreamModel: 'fail-429' },
      { model: 'gpt-500', provider: 'openai', upstreamModel: 'fail-500' },
      { model: 'gpt-400', provider: 'openai', upstreamModel: 'fail-400' },
      { model: 'claude-529', provider: 'anthropic', upstreamModel: 'fail-529' },
      { model: 'gpt-401', provider: 'openai', upstreamModel: 'fail-401' },
      { model: 'claude-403', provider: 'anthropic', upstreamModel: 'fail-403' },
      { model: 'gpt-gone', provider: 'openai', upstreamModel: 'fail-404' },
      { model: 'gpt-reset', provider: 'openai', upstreamModel: 'reset-before-headers' },
      { model: 'gpt-reset-mid', provider: 'openai', upstreamModel: 'reset-mid-stream' },
      { model: 'claude-reset-mid', provider: 'anthropic', upstreamModel: 'reset-mid-stream' },
      { model: 'gpt-refused', provider: 'openai-compatible', baseUrl: `http://127.0.0.1:${closedPort}/v1` },
      { model: 'gpt-nokey', provider: 'openai', credential: 'UNSET_TEST_API_KEY' },
      { model: 'mystery', provider: 'mistral' },
      { model: 'compat-nourl', provider: 'openai-compatible' },
    ];
    for (const route of routes) await putRoute(db, route);
    ({ secret } = await createAccountWithKey(db));
    gateway = await startTestGateway(db, {
      OPENAI_API_KEY: 'sk-upstream-openai',
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      ANTHROPIC_API_KEY: 'sk-ant-upstream',
      ANTHROPIC_BASE_URL: upstream.url,
    });
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 });
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  describe('401 authentication_error', () => {
    it('refuses a missing, unknown, revoked or expired key with the same message in both envelopes', async () => {
      const revoked = await createAccountWithKey(db);
      await db.stores.keys.revoke(revoked.record.keyId);
      const expired = await createAccountWithKey(db, { expiresAt: '2020-01-01T00:00:00Z' });
      for (const key of ['', 'sk-unknown0000', revoked.secret, expired.secret, 'not-a-key']) {
        const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : { authorization: '' };
        const openaiStyle = await post('/v1/chat/completions', '{}', headers);
        expect(openaiStyle.status).toBe(401);
        expect(await openaiStyle.json()).toEqual({
          error: { message: 'Invalid or missing API key', type: 'authentication_error', param: null, code: null },
        });
        const anthropicStyle = await post(
          '/v1/messages',
          '{}',
          key ? { authorization: '', 'x-api-key': key } : { authorization: '' },
        );
        expect(anthropicStyle.status).toBe(401);
        expect(await anthropicStyle.json()).toEqual({
          type: 'error',
          error: { type: 'authentication_error', message: 'Invalid or missing API key' },
        });
      }
      expect(upstream.requestCount).toBe(0);
    });

    it('raises each SDK’s AuthenticationError', async () => {
      const badOpenAI = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-nope', maxRetries: 0 });
      await expect(badOpenAI.chat.completions.create({ model: 'gpt-ok', messages: [] })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
      const badAnthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-nope', maxRetries: 0 });
      await expect(
        badAnthropic.messages.create({ model: 'claude-ok', max_tokens: 1, messages: [] }),
      ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    });
  });

  it('answers 403 permission_error for a model outside the key’s allow-list', async () => {
    const limited = await createAccountWithKey(db, { models: ['gpt-ok'] });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: limited.secret, maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'claude-ok', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as Error).message).toContain("may not use model 'claude-ok'");
    const anthropicClient = new Anthropic({ baseURL: gateway.url, apiKey: limited.secret, maxRetries: 0 });
    await expect(
      anthropicClient.messages.create({
        model: 'claude-ok',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
  });

  it('answers 404 for an unknown model, naming the models this key may use', async () => {
    const limited = await createAccountWithKey(db, { models: ['gpt-ok', 'claude-ok'] });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: limited.secret, maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as OpenAIAPIError).error).toMatchObject({
      type: 'not_found_error',
      message: "No provider for model 'gpt-9'. Available: claude-ok, gpt-ok",
    });
    await expect(message('claude-9')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('answers 404 not_found_error for an unknown path, in the envelope the client speaks', async () => {
    const openaiStyle = await fetch(`${gateway.url}/v1/nothing-here`);
    expect(openaiStyle.status).toBe(404);
    expect(await openaiStyle.json()).toMatchObject({ error: { type: 'not_found_error' } });
    const anthropicStyle = await fetch(`${gateway.url}/v1/nothing-here`, {
      headers: { 'anthropic-version': '2023-06-01' },
    });
    expect(await anthropicStyle.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  describe('400/413 invalid_request_error, before anything is called', () => {
    it.each([
      ['a body that is not JSON', '/v1/chat/completions', '{"model": "gpt-ok",', 'not valid JSON'],
      ['an empty body', '/v1/chat/completions', '', 'empty'],
      ['a JSON array', '/v1/chat/completions', '[]', 'must be a JSON object'],
      ['missing messages', '/v1/chat/completions', '{"model":"gpt-ok"}', "'messages'"],
      ['messages of the wrong type', '/v1/chat/completions', '{"model":"gpt-ok","messages":"hi"}', "'messages'"],
      [
        'stream of the wrong type',
        '/v1/chat/completions',
        '{"model":"gpt-ok","messages":[{"role":"user","content":"x"}],"stream":"yes"}',
        "'stream'",
      ],
      ['a missing model', '/v1/chat/completions', '{"messages":[{"role":"user","content":"x"}]}', 'model'],
      [
        'Anthropic without max_tokens',
        '/v1/messages',
        '{"model":"claude-ok","messages":[{"role":"user","content":"x"}]}',
        "'max_tokens'",
      ],
    ])('refuses %s with 400 naming the problem', async (_name, path, body, mention) => {
      const response = await post(path, body);
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: { type: string; message: string } };
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message).toContain(mention);
      expect(upstream.requestCount).toBe(0);
    });

    it('refuses a body over the limit with 413 before parsing it', async () => {
      const huge = JSON.stringify({ model: 'gpt-ok', messages: [{ role: 'user', content: 'x'.repeat(6_100_000) }] });
      const response = await post('/v1/chat/completions', huge);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    });

    it('raises the SDK’s BadRequestError', async () => {
      await expect(
        openai.chat.completions.create({ model: 'gpt-ok', messages: 'nope' as unknown as [] }),
      ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    });
  });

  describe('upstream statuses passed through', () => {
    it('passes a 429 through with its body and retry-after, as the SDKs’ RateLimitError', async () => {
      const raw = await post(
        '/v1/chat/completions',
        JSON.stringify({ model: 'gpt-429', messages: [{ role: 'user', content: 'x' }] }),
      );
      expect(raw.status).toBe(429);
      expect(raw.headers.get('retry-after')).toBe('1');
      expect(await raw.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
      await expect(chat('gpt-429')).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    });

    it('passes other upstream errors through as-is', async () => {
      await expect(chat('gpt-500')).rejects.toBeInstanceOf(OpenAI.InternalServerError);
      await expect(chat('gpt-400')).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      const overloaded = await message('claude-529').catch((e: unknown) => e);
      expect(overloaded).toBeInstanceOf(Anthropic.APIError);
      expect((overloaded as AnthropicAPIError).status).toBe(529);
      expect((overloaded as AnthropicAPIError).error).toMatchObject({
        type: 'error',
        error: { type: 'overloaded_error' },
      });
    });
  });

  describe('502 api_error when the upstream cannot be reached', () => {
    it('answers 502 "Upstream connection failed" on a refused connection, as an HTTP error the SDK sees', async () => {
      const error = await chat('gpt-refused').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error).not.toBeInstanceOf(OpenAI.APIConnectionError);
      expect((error as OpenAIAPIError).status).toBe(502);
      expect((error as OpenAIAPIError).error).toMatchObject({
        type: 'api_error',
        message: 'Upstream connection failed',
      });
    });

    it('answers 502 when the upstream resets the connection before its response', async () => {
      const error = await chat('gpt-reset').catch((e: unknown) => e);
      expect((error as OpenAIAPIError).status).toBe(502);
    });
  });

  describe('500 configuration_error, reported and never blamed on the client’s key', () => {
    it('reports a missing provider credential, naming the variable to set', async () => {
      const error = await chat('gpt-nokey').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as OpenAIAPIError).error).toMatchObject({ type: 'configuration_error' });
      expect((error as Error).message).not.toMatch(/your (api )?key is invalid/i);
      const report = gateway.reports.find((r) => r.model === 'gpt-nokey');
      expect(report).toMatchObject({ kind: 'missing_credential', provider: 'openai' });
      expect(report?.hint).toContain('environment variable UNSET_TEST_API_KEY');
      expect(upstream.requestCount).toBe(0);
    });

    it('turns an upstream 401/403 on the operator’s credential into configuration_error', async () => {
      const error = await chat('gpt-401').catch((e: unknown) => e);
      expect((error as OpenAIAPIError).status).toBe(500);
      expect((error as Error).message).toContain('not a problem with your API key');
      const anthropicError = await message('claude-403').catch((e: unknown) => e);
      expect(anthropicError).toBeInstanceOf(Anthropic.InternalServerError);
      expect((anthropicError as AnthropicAPIError).error).toMatchObject({
        type: 'error',
        error: { type: 'configuration_error' },
      });
      expect(
        gateway.reports
          .filter((r) => r.kind === 'upstream_auth')
          .map((r) => r.model)
          .sort(),
      ).toEqual(['claude-403', 'gpt-401']);
      expect(JSON.stringify(gateway.reports)).not.toContain('sk-upstream-openai');
    });

    it('reports an unknown provider, a missing base URL and an upstream model the provider does not know', async () => {
      for (const model of ['mystery', 'compat-nourl', 'gpt-gone']) {
        const error = await chat(model).catch((e: unknown) => e);
        expect((error as OpenAIAPIError).status).toBe(500);
      }
      expect(gateway.reports.filter((r) => ['mystery', 'compat-nourl', 'gpt-gone'].includes(r.model))).toMatchObject([
        { kind: 'unknown_provider', model: 'mystery' },
        { kind: 'bad_base_url', model: 'compat-nourl' },
        { kind: 'upstream_model_not_found', model: 'gpt-gone' },
      ]);
    });

    it('reports each kind and model once per window, however often it happens', async () => {
      const before = gateway.reports.length;
      for (let i = 0; i < 3; i += 1) await chat('gpt-nokey').catch(() => undefined);
      expect(gateway.reports.length).toBe(before);
    });
  });

  describe('failures after the first streamed byte', () => {
    it('ends an OpenAI stream with an in-stream error event the SDK raises', async () => {
      const stream = await openai.chat.completions.create({
        model: 'gpt-reset-mid',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      const received: string[] = [];
      const error = await (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      })().catch((e: unknown) => e);
      expect(received.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as Error).message).toContain('Upstream connection failed mid-stream');
    });

    it('ends an Anthropic stream with an error event the SDK raises', async () => {
      const error = await anthropic.messages
        .stream({ model: 'claude-reset-mid', max_tokens: 32, messages: [{ role: 'user', content: 'x' }] })
        .finalMessage()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as Error).message).toContain('Upstream connection failed mid-stream');
    });
  });
});
