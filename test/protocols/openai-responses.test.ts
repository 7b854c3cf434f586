import { describe, expect, it } from 'vitest';
import {
  observeResponsesEvent,
  ResponsesRequest,
  responsesBodyChars,
  responsesEventChars,
  responsesStreamError,
  usageFromOpenAIResponses,
} from '../../lambdas/protocols/openai-responses.ts';

describe('ResponsesRequest', () => {
  it('accepts input as a string or an item list and keeps unknown fields', () => {
    const asString = ResponsesRequest.parse({ model: 'gpt-5', input: 'hi', store: false });
    const asItems = ResponsesRequest.parse({
      model: 'gpt-5',
      input: [{ role: 'user', content: 'hi' }],
      stream: true,
      max_output_tokens: 512,
    });

    expect(asString).toEqual({ model: 'gpt-5', input: 'hi', store: false });
    expect(asItems.max_output_tokens).toBe(512);
  });

  it('accepts a request without input (a stored prompt template on OpenAI routes)', () => {
    expect(ResponsesRequest.safeParse({ model: 'gpt-5', prompt: { id: 'pmpt_1' } }).success).toBe(true);
  });

  it.each([
    ['input of the wrong type', { model: 'm', input: 42 }],
    ['items that are not objects', { model: 'm', input: ['hi'] }],
    ['a non-positive max_output_tokens', { model: 'm', input: 'hi', max_output_tokens: 0 }],
    ['a non-boolean stream', { model: 'm', input: 'hi', stream: 'yes' }],
    ['an empty model', { model: '', input: 'hi' }],
  ])('rejects %s', (_, body) => {
    expect(ResponsesRequest.safeParse(body).success).toBe(false);
  });
});

describe('usageFromOpenAIResponses', () => {
  it('splits cached tokens out of input_tokens so each token is priced once', () => {
    expect(
      usageFromOpenAIResponses({
        input_tokens: 160,
        input_tokens_details: { cached_tokens: 100 },
        output_tokens: 20,
        // reasoning tokens are part of output_tokens, not added to them
        output_tokens_details: { reasoning_tokens: 8 },
      } as Parameters<typeof usageFromOpenAIResponses>[0]),
    ).toEqual({ inputTokens: 60, outputTokens: 20, cacheReadTokens: 100, cacheWriteTokens: 0 });
  });

  it('reads missing or malformed counts as zero', () => {
    expect(usageFromOpenAIResponses({ input_tokens: 'x', input_tokens_details: null })).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });
});

describe('observeResponsesEvent', () => {
  const usage = { input_tokens: 30, input_tokens_details: { cached_tokens: 10 }, output_tokens: 5 };
  const expected = { inputTokens: 20, outputTokens: 5, cacheReadTokens: 10, cacheWriteTokens: 0 };

  it.each(['response.completed', 'response.incomplete', 'response.failed'])('reads the usage of %s', (type) => {
    const data = { type, sequence_number: 9, response: { id: 'resp_1', usage } };

    expect(observeResponsesEvent({ event: type, data: JSON.stringify(data), id: undefined }, data)).toEqual(expected);
  });

  it('ignores events before the final one, and a final event without usage', () => {
    const created = { type: 'response.created', response: { id: 'resp_1', usage } };
    const bare = { type: 'response.completed', response: { id: 'resp_1' } };

    expect(observeResponsesEvent({ event: 'response.created', data: '', id: undefined }, created)).toBeUndefined();
    expect(observeResponsesEvent({ event: 'response.completed', data: '', id: undefined }, bare)).toBeUndefined();
    expect(observeResponsesEvent({ event: undefined, data: '[DONE]', id: undefined }, undefined)).toBeUndefined();
  });
});

describe('responsesEventChars and responsesBodyChars', () => {
  it('counts generated text, arguments and reasoning in deltas, and nothing else', () => {
    expect(responsesEventChars({ type: 'response.output_text.delta', delta: 'Hello' })).toBe(5);
    expect(responsesEventChars({ type: 'response.function_call_arguments.delta', delta: '{"a":1}' })).toBe(7);
    expect(responsesEventChars({ type: 'response.reasoning_summary_text.delta', delta: 'hmm' })).toBe(3);
    expect(responsesEventChars({ type: 'response.output_text.done', text: 'Hello' })).toBe(0);
  });

  it('counts a whole response', () => {
    const body = {
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'abc' }] },
        { type: 'message', content: [{ type: 'output_text', text: 'Hello' }] },
        { type: 'function_call', arguments: '{}' },
      ],
    };

    expect(responsesBodyChars(body)).toBe(3 + 5 + 2);
  });
});

describe('responsesStreamError', () => {
  it('renders the Responses error event with its sequence number', () => {
    expect(new TextDecoder().decode(responsesStreamError('api_error', 'Upstream connection failed', 12))).toBe(
      'event: error\ndata: {"type":"error","code":"api_error","message":"Upstream connection failed","param":null,"sequence_number":12}\n\n',
    );
  });
});
