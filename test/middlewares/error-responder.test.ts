import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConfigurationError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  UpstreamError,
} from '../../lambdas/errors.ts';
import type { StreamingResponse } from '../../lambdas/gateway/forward.ts';
import { type GatewayState, peekState } from '../../lambdas/gateway/state.ts';
import { errorResponder } from '../../lambdas/middlewares/error-responder.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import type { ProxyEvent } from '../../lambdas/middlewares/types.ts';
import { fakeReporter, givenState, keyRecord, route } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, reachHandler, silentLogger } from '../support/lambda.ts';

const OPENAI_ENVELOPE = { error: { message: expect.any(String), type: expect.any(String), param: null, code: null } };

describe('errorResponder', () => {
  /**
   * A handler that throws `error`, behind the error responder alone. `state` is what the earlier
   * middlewares would have left; without it the request never got a state (an unknown path).
   */
  const answer = async (
    error: unknown,
    { state, event = proxyEvent('/v1/chat/completions') }: { state?: Partial<GatewayState>; event?: ProxyEvent } = {},
  ) => {
    const reporter = fakeReporter();
    const context: Context = lambdaContext('req-error');
    if (state) givenState(context, { requestId: 'req-error', ...state });
    const handler = middy(async (_event: ProxyEvent, _context: Context): Promise<StreamingResponse> => {
      throw error;
    }).use(errorResponder({ logger: silentLogger(), reporter }));
    const response = await handler(event, context);
    return { response, reports: reporter.reports, state: peekState(context) };
  };
  const bodyOf = (response: { body: unknown }) => JSON.parse(String(response.body)) as unknown;

  it("renders a refusal in OpenAI's envelope, with param and code", async () => {
    const error = new NotFoundError("No provider for model 'gpt-9'. Available: gpt-main");
    error.code = 'model_not_found';
    error.param = 'model';
    const { response } = await answer(error, { state: { protocol: 'openai' } });
    expect(response.statusCode).toBe(404);
    expect(response.headers).toEqual({ 'content-type': 'application/json', 'x-request-id': 'req-error' });
    expect(bodyOf(response)).toEqual({
      error: {
        message: "No provider for model 'gpt-9'. Available: gpt-main",
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  it("renders the same refusal in Anthropic's envelope for a request that speaks Anthropic", async () => {
    const { response } = await answer(new PermissionError("This API key may not use model 'claude-main'"), {
      state: { protocol: 'anthropic', endpoint: 'messages' },
    });
    expect(response.statusCode).toBe(403);
    expect(bodyOf(response)).toEqual({
      type: 'error',
      error: { type: 'permission_error', message: "This API key may not use model 'claude-main'" },
    });
  });

  it("passes a refusal's own headers on (retry-after on a 429)", async () => {
    const error = new RateLimitError('Rate limit exceeded');
    error.headers['retry-after'] = '15';
    const { response } = await answer(error, { state: {} });
    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({ 'retry-after': '15', 'x-request-id': 'req-error' });
  });

  it('records the failure and the status it answered in the request state', async () => {
    const error = new AuthenticationError();
    const { state } = await answer(error, { state: {} });
    expect(state).toMatchObject({ failure: error, status: 401 });
  });

  it('renders an error that came before any state (an unknown path) by the request headers', async () => {
    // Through request-context, which refuses the path before opening the request's state.
    const reporter = fakeReporter();
    const handler = middy(reachHandler)
      .use(errorResponder({ logger: silentLogger(), reporter }))
      .use(requestContext());
    const unknownPath = (headers: Record<string, string>) =>
      handler(proxyEvent('/v2/nope', { headers }), lambdaContext('req-lost'));

    const anthropic = await unknownPath({ 'anthropic-version': '2023-06-01' });
    expect(anthropic.statusCode).toBe(404);
    expect(anthropic.headers['x-request-id']).toBe('req-lost');
    expect(bodyOf(anthropic)).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'Unknown path: POST /v2/nope' },
    });
    const openai = await unknownPath({});
    expect(bodyOf(openai)).toMatchObject({
      error: { type: 'not_found_error', message: 'Unknown path: POST /v2/nope' },
    });
  });

  it('renders an unknown error as a generic 500 that leaks nothing of it', async () => {
    const { response } = await answer(new TypeError("Cannot read properties of undefined (reading 'sk-live-123')"), {
      state: {},
    });
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({
      error: { message: 'Internal error', type: 'api_error', param: null, code: null },
    });
    expect(response.body).not.toContain('sk-live-123');
    expect(response.body).not.toContain('TypeError');
  });

  it('renders a failing database as a 503 to retry, not as a fault of the request', async () => {
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    const { response } = await answer(throttled, { state: {} });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(bodyOf(response)).toMatchObject(OPENAI_ENVELOPE);
    expect(response.body).not.toContain('throughput');
  });

  describe('a configuration error', () => {
    const upstreamAuth = new ConfigurationError(
      'upstream_auth',
      'gpt-main',
      "The upstream provider refused the gateway's own credential for model 'gpt-main' (HTTP 401). This is not a problem with your API key; the operator has been notified.",
      'Provider openai answered 401 to environment variable OPENAI_API_KEY: {"error":"invalid key"}',
    );
    const routed: Partial<GatewayState> = {
      auth: { key: keyRecord() },
      routing: { route: route('gpt-main', { provider: 'openai' }), fallbacks: [] },
    };

    it('is reported to the operator, with the hint and where it happened', async () => {
      const { reports } = await answer(upstreamAuth, { state: routed });
      expect(reports).toEqual([
        {
          kind: 'upstream_auth',
          model: 'gpt-main',
          provider: 'openai',
          message: upstreamAuth.message,
          hint: upstreamAuth.hint,
          requestId: 'req-error',
          functionName: 'tollgate-proxy',
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ]);
    });

    it("never blames the client's key: a 500 configuration_error, not a 401, and no operator hint", async () => {
      const { response } = await answer(upstreamAuth, { state: routed });
      expect(response.statusCode).toBe(500);
      expect(bodyOf(response)).toEqual({
        error: { message: upstreamAuth.message, type: 'configuration_error', param: null, code: null },
      });
      expect(response.body).not.toContain('authentication_error');
      expect(response.body).not.toContain('OPENAI_API_KEY');
    });

    it('is reported without a provider when the request never got a route', async () => {
      const missingPrice = new ConfigurationError('missing_price', 'gpt-main', 'Model is misconfigured', 'Set prices');
      const { reports } = await answer(missingPrice, { state: {} });
      expect(reports).toHaveLength(1);
      expect(reports[0]).not.toHaveProperty('provider');
    });
  });

  it('is not what reports ordinary refusals', async () => {
    const { reports } = await answer(new AuthenticationError(), { state: {} });
    expect(reports).toEqual([]);
  });

  it("passes an upstream's own error through: its status, its body as it came, its rate-limit headers", async () => {
    const upstreamBody = '{"error":{"message":"Slow down","type":"rate_limit_exceeded","param":null,"code":null}}';
    const error = new UpstreamError(429, upstreamBody, {
      'content-type': 'application/json; charset=utf-8',
      'retry-after': '2',
      'x-ratelimit-remaining-requests': '0',
    });
    const { response, reports } = await answer(error, { state: { protocol: 'anthropic', endpoint: 'messages' } });
    expect(response.statusCode).toBe(429);
    expect(response.body).toBe(upstreamBody);
    expect(response.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'retry-after': '2',
      'x-ratelimit-remaining-requests': '0',
      'x-request-id': 'req-error',
    });
    expect(reports).toEqual([]);
  });
});
