import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, NotFoundError, PermissionError } from '../../lambdas/errors.ts';
import type { Authenticated } from '../../lambdas/gateway/auth.ts';
import { stateOf } from '../../lambdas/gateway/state.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import { routeRequest } from '../../lambdas/middlewares/route-request.ts';
import { chatRequest, fakeRoutes, givenState, keyRecord, route } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, REACHED, reachHandler } from '../support/lambda.ts';

const GPT = route('gpt-main', { provider: 'openai', fallbacks: ['gpt-backup', 'claude-backup', 'ghost', 'gpt-main'] });
const GPT_BACKUP = route('gpt-backup', { provider: 'openai' });
const CLAUDE = route('claude-main', { provider: 'anthropic' });
const CLAUDE_BACKUP = route('claude-backup', { provider: 'anthropic' });

describe('routeRequest', () => {
  const handler = middy(reachHandler).use(routeRequest({ routes: fakeRoutes(GPT, GPT_BACKUP, CLAUDE, CLAUDE_BACKUP) }));

  /** Routes a chat request for `model` (none: no model field) as the earlier middlewares left it. */
  const routeFor = async (auth: Authenticated, model?: string) => {
    const context = lambdaContext();
    givenState(context, { auth, request: chatRequest({ model, messages: [{ role: 'user', content: 'hi' }] }) });
    const response = await handler(proxyEvent('/v1/chat/completions'), context);
    return { response, routing: stateOf(context).routing };
  };
  const refusal = (auth: Authenticated, model?: string) =>
    routeFor(auth, model).then(
      () => expect.unreachable('the request was routed'),
      (error: unknown) => error,
    );
  const anyModel: Authenticated = { key: keyRecord() };
  const onlyGptMain: Authenticated = { key: keyRecord({ models: ['gpt-main'] }) };

  it("puts the route for the body's model in the state", async () => {
    const { response, routing } = await routeFor(anyModel, 'claude-main');
    expect(response).toBe(REACHED);
    expect(routing).toEqual({ route: CLAUDE, fallbacks: [] });
  });

  it("lets the key's <provider>/<model> suffix override the body's model", async () => {
    const suffixed: Authenticated = { ...anyModel, suffix: { provider: 'anthropic', model: 'claude-main' } };
    const { routing } = await routeFor(suffixed, 'gpt-main');
    expect(routing?.route).toEqual(CLAUDE);
  });

  it('refuses a suffix whose provider is not the route\'s with a 404 naming "<provider>/<model>"', async () => {
    const suffixed: Authenticated = { ...anyModel, suffix: { provider: 'openai', model: 'claude-main' } };
    const error = await refusal(suffixed, 'gpt-main');
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toMatch(/^No provider for model 'openai\/claude-main'\./);
  });

  it('refuses an unknown model with a 404 listing the models the key may use', async () => {
    const error = await refusal(anyModel, 'gpt-9');
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
      message: "No provider for model 'gpt-9'. Available: gpt-main, gpt-backup, claude-main, claude-backup",
    });
  });

  it('lists only what an allow-listed key may use when the model is unknown', async () => {
    expect(await refusal(onlyGptMain, 'gpt-9')).toMatchObject({
      message: "No provider for model 'gpt-9'. Available: gpt-main",
    });
  });

  it("refuses a model outside the key's allow-list with a 403", async () => {
    const error = await refusal(onlyGptMain, 'claude-main');
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toMatchObject({
      status: 403,
      type: 'permission_error',
      message: "This API key may not use model 'claude-main'. Allowed: gpt-main",
    });
  });

  it('refuses a request without a model with a 400 on "model"', async () => {
    const error = await refusal(anyModel);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, param: 'model' });
  });

  it("keeps the route's fallbacks in order, dropping unknown models and the route itself", async () => {
    const { routing } = await routeFor(anyModel, 'gpt-main');
    expect(routing).toEqual({ route: GPT, fallbacks: [GPT_BACKUP, CLAUDE_BACKUP] });
  });

  it("drops a fallback the key's allow-list does not name", async () => {
    const key = keyRecord({ models: ['gpt-main', 'claude-backup'] });
    const { routing } = await routeFor({ key }, 'gpt-main');
    expect(routing?.fallbacks).toEqual([CLAUDE_BACKUP]);
  });

  it('routes nothing for endpoints that name no model', async () => {
    // Through request-context: a GET endpoint, and no auth or body in the state at all.
    const context = lambdaContext();
    const response = await middy(reachHandler)
      .use(requestContext())
      .use(routeRequest({ routes: fakeRoutes(GPT) }))(proxyEvent('/v1/models', { method: 'GET' }), context);
    expect(response).toBe(REACHED);
    expect(stateOf(context).routing).toBeUndefined();
  });

  it('throws loudly when wired before the middlewares whose output it reads', async () => {
    // request-context opens the state, but nothing authenticated the request or parsed its body.
    const miswired = middy(reachHandler)
      .use(requestContext())
      .use(routeRequest({ routes: fakeRoutes(GPT) }));
    await expect(miswired(proxyEvent('/v1/chat/completions'), lambdaContext())).rejects.toThrow(
      "route-request ran before the middleware that sets 'auth'",
    );
  });
});
