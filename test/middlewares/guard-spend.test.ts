import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/errors.ts';
import { FALLBACK_MAX_TOKENS } from '../../lambdas/gateway/spend-guard.ts';
import { type GatewayState, stateOf } from '../../lambdas/gateway/state.ts';
import { guardSpend } from '../../lambdas/middlewares/guard-spend.ts';
import { chatRequest, givenState, route } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, REACHED, reachHandler } from '../support/lambda.ts';

const GPT = route('gpt-main', { provider: 'openai', defaultMaxTokens: 300 });

describe('guardSpend', () => {
  const handler = middy(reachHandler).use(guardSpend());

  /** Runs a routed chat request with `body` and `headers` through the middleware. */
  const guard = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const context = lambdaContext();
    givenState(context, {
      request: chatRequest({ model: 'gpt-main', messages: [{ role: 'user', content: 'hi' }], ...body }),
      routing: { route: GPT, fallbacks: [] },
    });
    const response = await handler(proxyEvent('/v1/chat/completions', { headers }), context);
    return { response, spend: stateOf(context).spend };
  };

  it("fixes the output cap — the client's, else the route's default — and the choices the hold multiplies by", async () => {
    expect((await guard({ max_tokens: 50, n: 3 })).spend).toEqual({
      cap: { tokens: 50, choices: 3 },
      anthropicBeta: undefined,
    });
    expect((await guard({})).spend?.cap).toEqual({ tokens: 300, choices: 1 });
  });

  it('falls back to 4,096 output tokens when neither the request nor the route names a cap', async () => {
    const context = lambdaContext();
    givenState(context, {
      request: chatRequest({ messages: [{ role: 'user', content: 'hi' }] }),
      routing: { route: route('bare', { provider: 'openai' }), fallbacks: [] },
    });
    await handler(proxyEvent('/v1/chat/completions'), context);
    expect(stateOf(context).spend?.cap).toEqual({ tokens: FALLBACK_MAX_TOKENS, choices: 1 });
  });

  it('keeps only the allow-listed anthropic-beta values', async () => {
    const { response, spend } = await guard({}, { 'anthropic-beta': 'unknown-2099-01-01,pdfs-2024-09-25' });
    expect(response).toBe(REACHED);
    expect(spend?.anthropicBeta).toBe('pdfs-2024-09-25');
  });

  it('refuses a price modifier with a 400 naming the field, before the handler', async () => {
    const refused = await guard({ service_tier: 'priority' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect(refused).toMatchObject({ status: 400, param: 'service_tier' });
  });

  it('refuses a price-changing beta by name', async () => {
    const refused = await guard({}, { 'anthropic-beta': 'context-1m-2025-08-07' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect((refused as Error).message).toContain('context-1m-2025-08-07');
  });

  it.each([
    ['models', '/v1/models'],
    ['wallet', '/v1/wallet'],
  ] as const)('leaves %s alone: it spends nothing and has no route', async (endpoint, path) => {
    const context = lambdaContext();
    givenState(context, { endpoint } as Partial<GatewayState>);
    expect(await handler(proxyEvent(path, { method: 'GET' }), context)).toBe(REACHED);
    expect(stateOf(context).spend).toBeUndefined();
  });
});
