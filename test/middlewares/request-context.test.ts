import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../lambdas/errors.ts';
import { ledgerSkOf } from '../../lambdas/gateway/request-id.ts';
import { peekState, stateOf } from '../../lambdas/gateway/state.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import { lambdaContext, proxyEvent, REACHED, reachHandler } from '../support/lambda.ts';

describe('requestContext', () => {
  const handler = middy(reachHandler).use(requestContext());

  it('answers GET /health itself, without reaching the handler', async () => {
    const context = lambdaContext('req-health');
    const response = await handler(proxyEvent('/health', { method: 'GET' }), context);
    expect(response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-request-id': `gen-${stateOf(context).startedAt}-req-health` },
      body: '{"status":"ok"}',
    });
    expect(stateOf(context).endpoint).toBe('health');
  });

  it('opens the request state with an id of the time and the Lambda request id, the clock and the endpoint', async () => {
    // Prepare
    const context = lambdaContext('req-open');
    const before = Date.now();
    // Act
    const response = await handler(proxyEvent('/v1/chat/completions'), context);
    // Assess
    expect(response).toBe(REACHED);
    const state = stateOf(context);
    expect(state).toMatchObject({ requestId: `gen-${state.startedAt}-req-open`, endpoint: 'chat', protocol: 'openai' });
    expect(state.startedAt).toBeGreaterThanOrEqual(before);
    // The id names the ledger row its hold is stamped with (GET /v1/generation reads it by the id alone).
    expect(ledgerSkOf(state.requestId)).toBe(`${new Date(state.startedAt).toISOString()}#${state.requestId}`);
    expect(state.startedPerf).toBeLessThanOrEqual(performance.now());
  });

  it.each([
    ['POST', '/v1/chat/completions', 'chat'],
    ['POST', '/v1/messages', 'messages'],
    ['POST', '/v1/messages/count_tokens', 'count_tokens'],
    ['POST', '/v1/embeddings', 'embeddings'],
    ['POST', '/v1/responses', 'responses'],
    ['GET', '/v1/models', 'models'],
    ['GET', '/v1/wallet', 'wallet'],
    ['GET', '/v1/key', 'key'],
    ['GET', '/v1/generation', 'generation'],
    ['GET', '/v1/models/', 'models'],
  ])('matches %s %s to the %s endpoint', async (method, path, endpoint) => {
    const context = lambdaContext();
    await handler(proxyEvent(path, { method }), context);
    expect(stateOf(context).endpoint).toBe(endpoint);
  });

  it('refuses an unknown path with a 404 naming it, before opening any state', async () => {
    const context = lambdaContext();
    const answer = handler(proxyEvent('/v1/completions'), context);
    await expect(answer).rejects.toBeInstanceOf(NotFoundError);
    await expect(answer).rejects.toThrow('Unknown path: POST /v1/completions');
    expect(peekState(context)).toBeUndefined();
  });

  it('refuses a known path under the wrong method with a 404 naming the right one', async () => {
    await expect(handler(proxyEvent('/v1/chat/completions', { method: 'GET' }), lambdaContext())).rejects.toThrow(
      'GET is not supported on /v1/chat/completions; use POST',
    );
  });

  describe('the error envelope', () => {
    const protocolFor = async (method: string, path: string, headers: Record<string, string> = {}) => {
      const context = lambdaContext();
      await handler(proxyEvent(path, { method, headers }), context);
      return stateOf(context).protocol;
    };

    it("is Anthropic's for /v1/messages and /v1/messages/count_tokens, whatever the headers", async () => {
      expect(await protocolFor('POST', '/v1/messages')).toBe('anthropic');
      expect(await protocolFor('POST', '/v1/messages/count_tokens')).toBe('anthropic');
    });

    it("is OpenAI's for the OpenAI endpoints, even with an anthropic-version header", async () => {
      const anthropicClient = { 'anthropic-version': '2023-06-01' };
      expect(await protocolFor('POST', '/v1/chat/completions', anthropicClient)).toBe('openai');
      expect(await protocolFor('POST', '/v1/responses', anthropicClient)).toBe('openai');
      expect(await protocolFor('POST', '/v1/embeddings', anthropicClient)).toBe('openai');
    });

    it("follows the anthropic-version header on /v1/models and /v1/wallet, OpenAI's without it", async () => {
      expect(await protocolFor('GET', '/v1/models', { 'anthropic-version': '2023-06-01' })).toBe('anthropic');
      expect(await protocolFor('GET', '/v1/models')).toBe('openai');
      expect(await protocolFor('GET', '/v1/wallet', { 'anthropic-version': '2023-06-01' })).toBe('anthropic');
    });
  });
});
