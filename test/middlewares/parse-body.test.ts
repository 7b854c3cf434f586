import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, PayloadTooLargeError } from '../../lambdas/errors.ts';
import { stateOf } from '../../lambdas/gateway/state.ts';
import { MAX_DEPTH, parseBody } from '../../lambdas/middlewares/parse-body.ts';
import { requestContext } from '../../lambdas/middlewares/request-context.ts';
import { type EventOptions, lambdaContext, proxyEvent, REACHED, reachHandler } from '../support/lambda.ts';

const MAX_BODY_BYTES = 1_000;

const CHAT = { model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }] };
const MESSAGES = { model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] };

/** `{"a":[[…[]…]]}`: an object holding arrays, `levels` deep in all. */
const nested = (levels: number): string => `{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

describe('parseBody', () => {
  const handler = middy(reachHandler)
    .use(requestContext())
    .use(parseBody({ maxBodyBytes: MAX_BODY_BYTES }));

  const send = async (path: string, options: EventOptions) => {
    const context = lambdaContext();
    const response = await handler(proxyEvent(path, options), context);
    return { response, state: stateOf(context) };
  };
  const refusal = (path: string, body: unknown, options: EventOptions = {}) =>
    send(path, { ...options, body }).then(
      () => expect.unreachable('the body was accepted'),
      (error: unknown) => error,
    );

  it('leaves the validated body, typed by its endpoint, and its text in the state', async () => {
    const text = JSON.stringify(CHAT);
    const { response, state } = await send('/v1/chat/completions', { body: text });
    expect(response).toBe(REACHED);
    expect(state.request).toEqual({ operation: 'chat', body: CHAT, text });
  });

  it('keeps fields the schema does not name (the upstream may know them)', async () => {
    const body = { ...MESSAGES, temperature: 0.2, metadata: { user_id: 'u1' } };
    const { state } = await send('/v1/messages', { body });
    expect(state.request?.operation).toBe('messages');
    expect(state.request?.body).toEqual(body);
  });

  it('decodes a base64-encoded body', async () => {
    const text = JSON.stringify(CHAT);
    const { state } = await send('/v1/chat/completions', {
      body: Buffer.from(text).toString('base64'),
      isBase64Encoded: true,
    });
    expect(state.request).toEqual({ operation: 'chat', body: CHAT, text });
  });

  it.each([
    ['GET', '/v1/models'],
    ['GET', '/v1/wallet'],
  ])('reads no body for %s %s', async (method, path) => {
    const { response, state } = await send(path, { method, body: 'not json at all' });
    expect(response).toBe(REACHED);
    expect(state.request).toBeUndefined();
  });

  describe('refuses, before anything else reads the body', () => {
    it('a body over the size limit with a 413, before parsing it', async () => {
      const tooLarge = `{"model": ${'x'.repeat(MAX_BODY_BYTES)}`; // not JSON either: the size is checked first
      const error = await refusal('/v1/chat/completions', tooLarge);
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error).toMatchObject({ status: 413, type: 'invalid_request_error' });
      expect((error as Error).message).toBe(
        `Request body is ${tooLarge.length} bytes; the limit is ${MAX_BODY_BYTES} bytes`,
      );
    });

    it('a body that is too large in bytes, though not in characters', async () => {
      const body = JSON.stringify({ ...CHAT, messages: [{ role: 'user', content: 'é'.repeat(600) }] });
      expect(body.length).toBeLessThan(MAX_BODY_BYTES);
      expect(await refusal('/v1/chat/completions', body)).toMatchObject({ status: 413 });
    });

    it('an empty body with a 400', async () => {
      const error = await refusal('/v1/messages', '  ');
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ status: 400, message: 'Request body is empty; expected a JSON object' });
    });

    it('a body that is not JSON with a 400', async () => {
      const error = await refusal('/v1/chat/completions', '{"model": "gpt-test", "messages": [');
      expect(error).toMatchObject({ status: 400, type: 'invalid_request_error' });
      expect((error as Error).message).toMatch(/^Request body is not valid JSON: /);
    });

    it.each([
      ['an array', '[{"role":"user","content":"hi"}]'],
      ['a string', '"hello"'],
      ['null', 'null'],
    ])('%s with a 400 asking for a JSON object', async (_name, body) => {
      expect(await refusal('/v1/chat/completions', body)).toMatchObject({
        status: 400,
        message: 'Request body must be a JSON object',
      });
    });

    it(`a body nested more than ${MAX_DEPTH} levels deep with a 400, and accepts one exactly that deep`, async () => {
      expect(await refusal('/v1/chat/completions', nested(MAX_DEPTH + 1))).toMatchObject({
        status: 400,
        message: `Request body is nested more than ${MAX_DEPTH} levels deep`,
      });
      // As deep as allowed: past the depth check, refused by the schema instead.
      expect(await refusal('/v1/chat/completions', nested(MAX_DEPTH))).toMatchObject({ param: 'messages' });
    });

    it('a body off its endpoint\'s schema with a 400 naming the first bad field in "param"', async () => {
      const { max_tokens: _, ...withoutMaxTokens } = MESSAGES;
      const error = await refusal('/v1/messages', withoutMaxTokens);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ status: 400, param: 'max_tokens' });
      expect((error as Error).message).toMatch(/^Invalid request: 'max_tokens': /);
    });

    it('a body with a bad nested field, naming its dotted path', async () => {
      const error = await refusal('/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: 'hi' }, 7] });
      expect(error).toMatchObject({ status: 400, param: 'messages.1' });
    });

    it('a chat body accepted elsewhere, because each endpoint has its own schema', async () => {
      // A Messages request needs max_tokens; the same body is a valid chat request.
      expect(await refusal('/v1/messages', CHAT)).toMatchObject({ param: 'max_tokens' });
      expect((await send('/v1/chat/completions', { body: CHAT })).state.request?.body).toEqual(CHAT);
    });
  });
});
