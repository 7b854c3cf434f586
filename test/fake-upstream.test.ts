import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_USAGE,
  type FakeUpstream,
  MAGIC_MODELS,
  scenarioForModel,
  startFakeUpstream,
} from './support/fake-upstream.ts';

const KEY = 'sk-operator-upstream-key';
const user = (content: string) => [{ role: 'user' as const, content }];

let upstream: FakeUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  upstream = await startFakeUpstream({ requireKey: KEY });
  openai = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
  anthropic = new Anthropic({ baseURL: upstream.url, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
});

afterAll(async () => {
  await upstream.close();
});

beforeEach(() => {
  upstream.reset();
});

describe('fake upstream: OpenAI chat completions', () => {
  it('streams a role delta, content deltas, a finish chunk and, when asked, the usage-only chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('hello there'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('fake reply to: hello there');
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBeGreaterThan(1);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({
      prompt_tokens: 10,
      completion_tokens: 20,
      total_tokens: 30,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
  });

  it('sends no usage chunk and no usage field when the request does not ask for usage', async () => {
    const stream = await openai.chat.completions.create({ model: 'm', messages: user('hi'), stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.every((chunk) => chunk.choices.length === 1 && !('usage' in chunk))).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('answers non-stream with a chat.completion whose prompt_tokens include the cached tokens', async () => {
    upstream.enqueue({ text: 'Hi!', usage: { inputTokens: 6, cachedTokens: 4, outputTokens: 7, reasoningTokens: 2 } });

    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });

    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hi!' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 7,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
  });

  it('streams two parallel tool calls that finalChatCompletion() assembles with parseable arguments', async () => {
    const runner = openai.chat.completions.stream({
      model: 'parallel-tool-calls',
      messages: user('weather and time in Paris?'),
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
      ],
    });

    const completion = await runner.finalChatCompletion();

    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const calls = (choice?.message.tool_calls ?? []).map((call) =>
      call.type === 'function' ? [call.function.name, JSON.parse(call.function.arguments)] : [],
    );
    expect(calls).toEqual([
      ['get_weather', { city: 'Paris' }],
      ['get_time', { timezone: 'Europe/Paris' }],
    ]);
  });

  it('answers a non-stream tool call with content null and tool_calls', async () => {
    upstream.enqueue({ toolCalls: [{ name: 'lookup', arguments: { q: 'x' }, id: 'call_1' }] });

    const completion = await openai.chat.completions.create({ model: 'm', messages: user('hi') });

    expect(completion.choices[0]?.message.content).toBeNull();
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ]);
  });
});

describe('fake upstream: OpenAI responses', () => {
  it('streams the Responses event sequence with consecutive sequence numbers and completed usage', async () => {
    upstream.enqueue({ usage: { cachedTokens: 3 } });
    const stream = await openai.responses.create({ model: 'gpt-4.1', input: 'hello', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);

    const types = [...new Set(events.map((event) => event.type))];
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const completed = events.at(-1);
    expect(completed?.type === 'response.completed' && completed.response.usage).toEqual({
      input_tokens: 13,
      input_tokens_details: { cached_tokens: 3, cache_write_tokens: 0 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 33,
    });
  });

  it('sends SSE event lines named as the event types', async () => {
    const response = await fetch(`${upstream.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', input: 'hi', stream: true }),
    });
    const body = await response.text();

    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(body.startsWith('event: response.created\ndata: {"type":"response.created"')).toBe(true);
    expect(body).not.toContain('[DONE]');
  });

  it('lets responses.stream() build the final response with reasoning, text and a function call', async () => {
    upstream.enqueue({ thinking: 'hmm', text: 'Checking.', toolCalls: [{ name: 'get_weather', arguments: { c: 1 } }] });

    const final = await openai.responses.stream({ model: 'gpt-4.1', input: 'weather?' }).finalResponse();

    expect(final.status).toBe('completed');
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'function_call']);
    expect(final.output_text).toBe('Checking.');
    const call = final.output[2];
    expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({ c: 1 });
  });

  it('answers non-stream with a response object and its usage', async () => {
    const response = await openai.responses.create({ model: 'gpt-4.1', input: [{ role: 'user', content: 'yo' }] });

    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('fake reply to: yo');
    expect(response.usage?.input_tokens_details.cached_tokens).toBe(0);
    expect(response.usage?.output_tokens).toBe(DEFAULT_USAGE.outputTokens);
  });

  it('reports a token-limit stop as an incomplete response', async () => {
    const response = await openai.responses.create({ model: 'max-tokens', input: 'long story' });

    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });
});

describe('fake upstream: OpenAI embeddings', () => {
  it('answers float and base64 encodings with the same vectors and usage', async () => {
    const float = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      encoding_format: 'float',
    });
    const decoded = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });

    expect(upstream.requests.map((request) => (request.body as { encoding_format: string }).encoding_format)).toEqual([
      'float',
      'base64',
    ]);
    expect(float.data).toHaveLength(2);
    expect(float.data[0]?.embedding).toHaveLength(8);
    expect(decoded.data.map((item) => Array.from(item.embedding))).toEqual(float.data.map((item) => item.embedding));
    expect(float.usage).toEqual({ prompt_tokens: 10, total_tokens: 10 });
  });

  it('honours the requested dimensions', async () => {
    const result = await openai.embeddings.create({ model: 'e', input: 'x', dimensions: 3, encoding_format: 'float' });

    expect(result.data[0]?.embedding).toHaveLength(3);
  });
});

describe('fake upstream: Anthropic messages', () => {
  it('streams thinking, text and tool_use blocks that finalMessage() assembles', async () => {
    upstream.enqueue({
      thinking: 'Let me think.',
      text: 'Checking the weather.',
      toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris', days: 2 } }],
      usage: { inputTokens: 5, cachedTokens: 7, cacheCreationTokens: 3, outputTokens: 42, reasoningTokens: 9 },
    });

    const message = await anthropic.messages
      .stream({ model: 'claude-test', max_tokens: 100, messages: user('weather?') })
      .finalMessage();

    expect(message.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);
    const [thinking, text, tool] = message.content;
    expect(thinking?.type === 'thinking' && thinking.thinking).toBe('Let me think.');
    expect(thinking?.type === 'thinking' && thinking.signature.length).toBeGreaterThan(0);
    expect(text?.type === 'text' && text.text).toBe('Checking the weather.');
    expect(tool?.type === 'tool_use' && tool.input).toEqual({ city: 'Paris', days: 2 });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({
      input_tokens: 5,
      cache_read_input_tokens: 7,
      cache_creation_input_tokens: 3,
      output_tokens: 42,
    });
  });

  it('streams message_start with small output_tokens and message_delta with the cumulative count', async () => {
    const stream = await anthropic.messages.create({
      model: 'claude-test',
      max_tokens: 100,
      messages: user('hi'),
      stream: true,
    });
    const events = [];
    for await (const event of stream) events.push(event);

    expect(events.map((event) => event.type)).toEqual([
      'message_start',
      'content_block_start',
      ...events.slice(2, -3).map(() => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events[0];
    expect(start?.type === 'message_start' && start.message.usage).toMatchObject({
      input_tokens: 10,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      output_tokens: 1,
    });
    const delta = events.at(-2);
    expect(delta?.type === 'message_delta' && [delta.delta.stop_reason, delta.usage.output_tokens]).toEqual([
      'end_turn',
      20,
    ]);
  });

  it('sends Anthropic SSE framing, including a ping after the first content_block_start', async () => {
    const response = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 5, messages: user('hi'), stream: true }),
    });
    const names = [...(await response.text()).matchAll(/^event: (.+)$/gm)].map((match) => match[1]);

    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
  });

  it('answers non-stream with a message object', async () => {
    const message = await anthropic.messages.create({ model: 'claude-x', max_tokens: 50, messages: user('ping') });

    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [{ type: 'text', text: 'fake reply to: ping' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 10, output_tokens: 20 },
    });
  });

  it('counts tokens', async () => {
    upstream.enqueue({ usage: { inputTokens: 123 } });

    const count = await anthropic.messages.countTokens({ model: 'claude-x', messages: user('count me') });

    expect(count).toEqual({ input_tokens: 123 });
    expect(upstream.lastRequest?.endpoint).toBe('count_tokens');
  });
});

describe('fake upstream: models', () => {
  it('lists models in OpenAI shape, and in Anthropic shape when anthropic-version is sent', async () => {
    const openaiModels = [];
    for await (const model of openai.models.list()) openaiModels.push(model);
    const anthropicModels = await anthropic.models.list();

    expect(openaiModels[0]).toMatchObject({ object: 'model', owned_by: 'fake' });
    expect(openaiModels.map((model) => model.id)).toContain('tool-call');
    expect(anthropicModels.data[0]).toMatchObject({ type: 'model', display_name: expect.any(String) });
    expect(upstream.requests.map((request) => request.protocol)).toEqual(['openai', 'anthropic']);
  });
});

describe('fake upstream: errors', () => {
  it('answers fail-429 with the OpenAI error body and retry-after, surfaced as RateLimitError', async () => {
    const error = await openai.chat.completions.create({ model: 'fail-429', messages: user('x') }).catch((e) => e);

    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.headers.get('retry-after')).toBe('1');
    expect(error.error).toEqual({
      message: expect.any(String),
      type: 'requests',
      param: 'requests',
      code: 'rate_limit_exceeded',
    });
  });

  it('lets the OpenAI SDK honour retry-after before retrying', async () => {
    const retrying = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: KEY, maxRetries: 1 });
    upstream.enqueue({ status: 429, headers: { 'retry-after': '1' } });

    const completion = await retrying.chat.completions.create({ model: 'm', messages: user('again') });

    expect(completion.choices[0]?.message.content).toBe('fake reply to: again');
    const [first, second] = upstream.requests;
    // The SDK's own backoff for a first retry is at most 0.5 s, so a gap of a second is the header's.
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('answers fail-429 on Anthropic with its error body, surfaced as RateLimitError', async () => {
    const error = await anthropic.messages
      .create({ model: 'fail-429', max_tokens: 5, messages: user('x') })
      .catch((e) => e);

    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.headers.get('retry-after')).toBe('1');
    expect(error.error).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.any(String) },
      request_id: expect.stringMatching(/^req_/),
    });
  });

  it('answers 500 and 529 as InternalServerError in both SDKs', async () => {
    const openai500 = await openai.chat.completions.create({ model: 'fail-500', messages: user('x') }).catch((e) => e);
    const openai529 = await openai.responses.create({ model: 'fail-529', input: 'x' }).catch((e) => e);
    const anthropic529 = await anthropic.messages
      .create({ model: 'fail-529', max_tokens: 5, messages: user('x') })
      .catch((e) => e);
    const anthropic500 = await anthropic.messages
      .create({ model: 'fail-500', max_tokens: 5, messages: user('x') })
      .catch((e) => e);

    expect(openai500).toBeInstanceOf(OpenAI.InternalServerError);
    expect(openai500.error).toMatchObject({ type: 'server_error', code: null });
    expect(openai529).toBeInstanceOf(OpenAI.InternalServerError);
    expect(anthropic529).toBeInstanceOf(Anthropic.InternalServerError);
    expect(anthropic529.error.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(anthropic500).toBeInstanceOf(Anthropic.InternalServerError);
    expect(anthropic500.error.error.type).toBe('api_error');
  });

  it('refuses a key other than requireKey with each provider’s real 401, surfaced as AuthenticationError', async () => {
    const wrongOpenAI = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-client-key-123', maxRetries: 0 });
    const wrongAnthropic = new Anthropic({ baseURL: upstream.url, apiKey: 'sk-client-key-123', maxRetries: 0 });

    const openaiError = await wrongOpenAI.chat.completions.create({ model: 'm', messages: user('x') }).catch((e) => e);
    const anthropicError = await wrongAnthropic.messages
      .create({ model: 'm', max_tokens: 5, messages: user('x') })
      .catch((e) => e);

    expect(openaiError).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(openaiError.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
    expect(openaiError.error.message).not.toContain('sk-client-key-123');
    expect(anthropicError).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(anthropicError.error.error).toEqual({ type: 'authentication_error', message: 'invalid x-api-key' });
  });

  it('answers a custom status and error fields from a scenario', async () => {
    upstream.enqueue({
      status: 400,
      error: { message: 'bad thing', code: 'context_length_exceeded', param: 'messages' },
    });

    const error = await openai.chat.completions.create({ model: 'm', messages: user('x') }).catch((e) => e);

    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.error).toEqual({
      message: 'bad thing',
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    });
  });

  it('answers unknown paths and invalid JSON with the provider’s 404 and 400', async () => {
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const missing = await fetch(`${upstream.url}/v1/nope`, { method: 'POST', headers, body: '{}' });
    const invalid = await fetch(`${upstream.url}/v1/chat/completions`, { method: 'POST', headers, body: '{oops' });

    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/nope)' } });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(upstream.requests[1]?.body).toBe('{oops');
  });
});

describe('fake upstream: failure modes', () => {
  it('resets the connection before headers (reset-before-headers)', async () => {
    const error = await openai.chat.completions
      .create({ model: 'reset-before-headers', messages: user('x') })
      .catch((e) => e);

    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('delivers the first events, then destroys the socket (reset-mid-stream)', async () => {
    const stream = await openai.chat.completions.create({
      model: 'reset-mid-stream',
      messages: user('one two three four five'),
      stream: true,
    });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e) => e);

    expect(failure).toBeInstanceOf(Error);
    expect(received).toEqual(['', 'fake ', 'reply ', 'to: ']);
  });

  it('delivers the first events, then stays silent with the socket open (stall)', async () => {
    const stream = await anthropic.messages.create({
      model: 'stall',
      max_tokens: 5,
      messages: user('x'),
      stream: true,
    });
    const received: string[] = [];
    for await (const event of stream) {
      received.push(event.type);
      if (received.length === 2) break;
    }

    expect(received).toEqual(['message_start', 'content_block_start']);
  });

  it('sends the in-stream error event mid-stream (error-mid-stream)', async () => {
    const openaiStream = await openai.chat.completions.create({
      model: 'error-mid-stream',
      messages: user('x'),
      stream: true,
    });
    const openaiError = await (async () => {
      for await (const _ of openaiStream);
    })().catch((e) => e);
    const anthropicStream = await anthropic.messages.create({
      model: 'error-mid-stream',
      max_tokens: 5,
      messages: user('x'),
      stream: true,
    });
    const anthropicError = await (async () => {
      for await (const _ of anthropicStream);
    })().catch((e) => e);

    expect(openaiError).toBeInstanceOf(OpenAI.APIError);
    expect(openaiError.message).toContain('The server had an error');
    expect(anthropicError).toBeInstanceOf(Anthropic.APIError);
    expect(anthropicError.type).toBe('overloaded_error');
  });

  it('sends invalid JSON that the SDKs refuse (garbage)', async () => {
    const quiet = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: KEY, maxRetries: 0, logLevel: 'off' });
    const stream = await quiet.chat.completions.create({ model: 'garbage', messages: user('x'), stream: true });
    const streamError = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    const bodyError = await anthropic.messages
      .create({ model: 'garbage', max_tokens: 5, messages: user('x') })
      .catch((e) => e);

    expect(streamError).toBeInstanceOf(SyntaxError);
    expect(bodyError).toBeInstanceOf(Error);
  });

  it('sends no usage at all (no-usage)', async () => {
    const completion = await openai.chat.completions.create({ model: 'no-usage', messages: user('x') });
    const stream = await openai.chat.completions.create({
      model: 'no-usage',
      messages: user('x'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(completion.usage).toBeUndefined();
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('sends the Responses error event mid-stream', async () => {
    const stream = await openai.responses.create({ model: 'error-mid-stream', input: 'x', stream: true });
    const types: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().catch((e) => e);

    expect(types).toHaveLength(4);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
  });

  it('waits ttfbMs before the headers and chunkDelayMs between events', async () => {
    const started = Date.now();
    await openai.chat.completions.create({ model: 'ttfb-150', messages: user('x') });
    const ttfb = Date.now() - started;
    upstream.enqueue({ chunks: ['a', 'b', 'c'], chunkDelayMs: 40 });
    const stream = await openai.chat.completions.create({ model: 'm', messages: user('x'), stream: true });
    const arrivals: number[] = [];
    for await (const _ of stream) arrivals.push(Date.now());

    // Lower bounds only: timers never fire early by more than a millisecond or so.
    expect(ttfb).toBeGreaterThanOrEqual(140);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(4 * 40 - 10);
  });

  it('stops writing when the client goes away mid-stream and keeps serving', async () => {
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'slow-20', messages: user('one two three four five six'), stream: true },
      { signal: controller.signal },
    );
    for await (const _ of stream) {
      controller.abort();
    }

    const next = await openai.chat.completions.create({ model: 'm', messages: user('still there?') });

    expect(next.choices[0]?.message.content).toBe('fake reply to: still there?');
  });

  it('sends half a JSON body then destroys the socket for a non-stream reset-mid-stream', async () => {
    const error = await openai.chat.completions
      .create({ model: 'reset-mid-stream', messages: user('x') })
      .catch((e) => e);

    expect(error).toBeInstanceOf(Error);
  });

  it('replays raw SSE frames from a scenario', async () => {
    upstream.enqueue({
      rawFrames: [
        'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"raw"},"finish_reason":null}]}\n\n',
        'data: [DONE]\n\n',
      ],
    });

    const stream = await openai.chat.completions.create({ model: 'm', messages: user('x'), stream: true });
    const pieces = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content);

    expect(pieces).toEqual(['raw']);
  });
});

describe('fake upstream: recording and scripting', () => {
  it('records method, path, body and the auth each client presented', async () => {
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
    await anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: user('hi') });

    const [chat, messages] = upstream.requests;
    expect(chat).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      protocol: 'openai',
      endpoint: 'chat',
      model: 'gpt-4o-mini',
      stream: false,
      body: { model: 'gpt-4o-mini', messages: user('hi') },
      auth: { authorization: `Bearer ${KEY}`, key: KEY },
    });
    // @anthropic-ai/sdk v1 sends `apiKey` as a Bearer token; x-api-key is what curl and older clients send.
    expect(messages).toMatchObject({
      path: '/v1/messages',
      protocol: 'anthropic',
      auth: { authorization: `Bearer ${KEY}`, key: KEY },
    });
    expect(messages?.headers['anthropic-version']).toBeDefined();
    expect(typeof chat?.receivedAt).toBe('number');
    await fetch(`${upstream.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: user('hi') }),
    });
    expect(upstream.lastRequest?.auth).toEqual({ apiKey: KEY, key: KEY });
  });

  it('applies enqueued scenarios first, in order, then the script hook', async () => {
    upstream.script((request) => (request.model === 'scripted' ? { text: 'from script' } : undefined));
    upstream.enqueue({ text: 'first' }, { text: 'second' });
    const ask = async (model: string) =>
      (await openai.chat.completions.create({ model, messages: user('x') })).choices[0]?.message.content;

    expect([await ask('scripted'), await ask('scripted'), await ask('scripted'), await ask('other')]).toEqual([
      'first',
      'second',
      'from script',
      'fake reply to: x',
    ]);
  });

  it('splits explicit chunks one delta each', async () => {
    upstream.enqueue({ chunks: ['a', 'b', 'c'] });

    const stream = await openai.chat.completions.create({ model: 'm', messages: user('x'), stream: true });
    const pieces = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content);

    expect(pieces).toEqual(['', 'a', 'b', 'c', undefined]);
  });

  it('forgets requests, queue and script on reset()', async () => {
    upstream.enqueue({ text: 'queued' });
    upstream.script(() => ({ text: 'scripted' }));
    upstream.reset();

    const completion = await openai.chat.completions.create({ model: 'm', messages: user('x') });

    expect(completion.choices[0]?.message.content).toBe('fake reply to: x');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requestCount).toBe(1);
  });

  it('reads combined magic model names', () => {
    expect(scenarioForModel('gpt-4o')).toBeUndefined();
    expect(scenarioForModel('fail-529')).toEqual({ status: 529 });
    expect(scenarioForModel('openai/tool-call+slow-20+ttfb-5')).toMatchObject({
      toolCalls: [{ name: 'get_weather' }],
      chunkDelayMs: 20,
      ttfbMs: 5,
    });
    expect(MAGIC_MODELS).toEqual(expect.arrayContaining(['reset-before-headers', 'reset-mid-stream', 'stall']));
  });

  it('closes with a stalled request still open', async () => {
    const own = await startFakeUpstream();
    const client = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const pending = client.chat.completions.create({ model: 'stall-before-headers', messages: user('x') });
    const outcome = pending.then(
      () => 'answered',
      () => 'failed',
    );
    while (own.requestCount === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    await own.close();

    expect(await outcome).toBe('failed');
  });
});
