import OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/errors.ts';
import {
  anthropicErrorToOpenAI,
  type ChatToMessagesOptions,
  chatRequestToMessages,
  createMessagesToChatStream,
  DROPPED_CHAT_FIELDS,
  finishReasonFor,
  isAdaptiveOnlyModel,
  messagesResponseToChat,
  THINKING_BUDGETS,
} from '../../lambdas/protocols/translate/chat-via-messages.ts';
import type { UpstreamEvent } from '../../lambdas/protocols/translate/types.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import {
  atFixedTime,
  driven,
  fixture as readFixture,
  translate,
  translateStream,
  upstreamEvents,
} from '../support/translators.ts';

type Json = Record<string, unknown>;

const fixture = (name: string): string => readFixture('chat-via-messages', name);

interface StreamResult {
  chunks: Json[];
  content: string;
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: unknown;
  usage: Json | undefined;
}

/**
 * Checks the frames as a strict Chat Completions client would, and folds them into what they say:
 * data-only frames, `[DONE]` once and last, one id/created/model, the role first, tool calls numbered
 * from 0 with id/type/name on their first delta, one finish_reason, then (only if asked) the usage chunk.
 */
const readChatStream = (frames: string[], expect_: { model: string; includeUsage: boolean }): StreamResult => {
  const data = frames.map((frame) => {
    expect(frame).toMatch(/^data: .*\n\n$/s);
    return frame.slice('data: '.length, -2);
  });
  expect(data.at(-1)).toBe('[DONE]');
  expect(data.filter((entry) => entry === '[DONE]')).toHaveLength(1);
  const chunks = data.slice(0, -1).map((entry) => JSON.parse(entry) as Json);
  const [first] = chunks;
  for (const chunk of chunks) {
    expect(chunk).toMatchObject({ object: 'chat.completion.chunk', id: first?.['id'], created: first?.['created'] });
    expect(chunk['model']).toBe(expect_.model);
    if (expect_.includeUsage) expect(Object.hasOwn(chunk, 'usage')).toBe(true);
    else expect(Object.hasOwn(chunk, 'usage')).toBe(false);
  }
  const usageChunk = expect_.includeUsage ? chunks.pop() : undefined;
  if (usageChunk) {
    expect(usageChunk['choices']).toEqual([]);
    expect(usageChunk['usage']).toBeTypeOf('object');
  }
  for (const chunk of chunks) if (expect_.includeUsage) expect(chunk['usage']).toBeNull();

  const choices = chunks.map((chunk) => {
    const list = chunk['choices'] as Json[];
    expect(list).toHaveLength(1);
    return list[0] as { index: number; delta: Json; finish_reason: unknown; logprobs: unknown };
  });
  expect(choices[0]?.delta['role']).toBe('assistant');
  const finishes = choices.filter((choice) => choice.finish_reason !== null);
  expect(finishes).toHaveLength(1);
  expect(choices.at(-1)?.finish_reason).not.toBeNull();

  const result: StreamResult = {
    chunks,
    content: '',
    reasoning: '',
    toolCalls: [],
    finishReason: finishes[0]?.finish_reason,
    usage: usageChunk?.['usage'] as Json | undefined,
  };
  for (const choice of choices) {
    expect(choice.index).toBe(0);
    const { delta } = choice;
    if (typeof delta['content'] === 'string') result.content += delta['content'];
    if (typeof delta['reasoning_content'] === 'string') result.reasoning += delta['reasoning_content'];
    for (const call of (delta['tool_calls'] ?? []) as { index: number; id?: string; type?: string; function: Json }[]) {
      const known = result.toolCalls[call.index];
      if (known) {
        expect(call.id).toBeUndefined();
        expect(call.function['arguments']).toMatch(/./);
        known.arguments += call.function['arguments'] as string;
        continue;
      }
      expect(call.index).toBe(result.toolCalls.length);
      expect(call.type).toBe('function');
      expect(call.id).toMatch(/./);
      expect(call.function['name']).toMatch(/./);
      result.toolCalls.push({
        id: call.id as string,
        name: call.function['name'] as string,
        arguments: call.function['arguments'] as string,
      });
    }
  }
  return result;
};

const streamFixture = (name: string, includeUsage: boolean): StreamResult =>
  readChatStream(
    translate(
      driven('messages', createMessagesToChatStream({ model: 'my-claude', includeUsage })),
      upstreamEvents(fixture(name)),
    ),
    {
      model: 'my-claude',
      includeUsage,
    },
  );

// ─── stream ──────────────────────────────────────────────────────────────────────────────────────

describe('createMessagesToChatStream', () => {
  it('streams a text answer as a role chunk, content deltas, a stop chunk, the usage chunk and [DONE]', () => {
    const result = streamFixture('text.sse', true);

    expect(result.content).toBe('Hello! How can I help you today?');
    expect(result.finishReason).toBe('stop');
    expect(result.chunks[0]?.['id']).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
    // prompt_tokens counts cache reads and writes (OpenAI's meaning); cached_tokens is the reads.
    expect(result.usage).toEqual({
      prompt_tokens: 25 + 1200 + 300,
      completion_tokens: 15,
      total_tokens: 1525 + 15,
      prompt_tokens_details: { cached_tokens: 1200, cache_write_tokens: 300 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('sends no usage chunk and no usage field when the client did not ask for usage', () => {
    const result = streamFixture('text.sse', false);

    expect(result.usage).toBeUndefined();
    expect(result.content).toBe('Hello! How can I help you today?');
  });

  it('streams text then a tool call: id and name first, then argument deltas, finishing with tool_calls', () => {
    const result = streamFixture('tool-call.sse', true);

    expect(result.content).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({ id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather' });
    expect(JSON.parse(result.toolCalls[0]?.arguments ?? '')).toEqual({
      location: 'San Francisco, CA',
      unit: 'fahrenheit',
    });
    expect(result.finishReason).toBe('tool_calls');
    expect(result.usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
  });

  it('numbers parallel tool calls 0 and 1 in block order, each with its own arguments', () => {
    const result = streamFixture('parallel-tool-calls.sse', false);

    expect(result.content).toBe('');
    expect(result.toolCalls.map((call) => [call.id, call.name, JSON.parse(call.arguments)])).toEqual([
      ['toolu_01A09q90qw90lq917835lq9', 'get_weather', { city: 'Paris' }],
      ['toolu_01B7fYqm3yyT2nLUqCw2Lk4Z', 'get_time', { timezone: 'Europe/Paris' }],
    ]);
    expect(result.finishReason).toBe('tool_calls');
  });

  it('streams thinking as reasoning_content, drops the signature, and reports reasoning tokens', () => {
    const frames = translate(
      driven('messages', createMessagesToChatStream({ model: 'my-claude', includeUsage: true })),
      upstreamEvents(fixture('thinking.sse')),
    );
    const result = readChatStream(frames, { model: 'my-claude', includeUsage: true });

    expect(result.reasoning).toBe(
      'I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\n\nSo GCD(1071, 462) = 21',
    );
    expect(result.content).toBe('The greatest common divisor of 1071 and 462 is **21**.');
    expect(frames.join('')).not.toContain('signature');
    expect(result.usage).toMatchObject({
      completion_tokens: 196,
      completion_tokens_details: { reasoning_tokens: 142 },
    });
  });

  it('keeps one id, one created and the client model on every chunk', () => {
    const translator = () =>
      driven('messages', createMessagesToChatStream({ model: 'client-model', includeUsage: true }));
    const frames = atFixedTime(() => translate(translator(), upstreamEvents(fixture('tool-call.sse'))));
    const chunks = readChatStream(frames, { model: 'client-model', includeUsage: true }).chunks;

    expect(new Set(chunks.map((chunk) => `${chunk['id']} ${chunk['created']} ${chunk['model']}`))).toEqual(
      new Set(['msg_014p7gG3wDgGV9EUtLvnow3U 1750000000 client-model']),
    );
  });

  it('sends nothing for ping events', () => {
    const translator = driven('messages', createMessagesToChatStream({ model: 'm', includeUsage: false }));
    const [start] = upstreamEvents(fixture('text.sse'));
    translator.push(start as UpstreamEvent);

    expect(translator.push({ event: 'ping', data: { type: 'ping' }, raw: '{"type": "ping"}' })).toEqual([]);
  });

  it('turns an upstream error event into the OpenAI in-stream error frame and ends there, without [DONE]', () => {
    const translator = driven('messages', createMessagesToChatStream({ model: 'my-claude', includeUsage: true }));
    const frames = translate(translator, upstreamEvents(fixture('error-mid-stream.sse')));
    const last = frames.at(-1) ?? '';

    expect(frames.slice(0, -1).map((frame) => JSON.parse(frame.slice(6)).choices[0].delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Once upon' },
    ]);
    expect(last).toBe(
      'data: {"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}\n\n',
    );
    expect(frames.join('')).not.toContain('[DONE]');
    expect(translator.push({ event: 'message_stop', data: { type: 'message_stop' }, raw: '' })).toEqual([]);
    expect(translator.fail('api_error', 'again')).toEqual([]);
  });

  it('renders a failure reported by the gateway (fail) as the in-stream error frame, once', () => {
    const translator = driven('messages', createMessagesToChatStream({ model: 'm', includeUsage: false }));
    const events = upstreamEvents(fixture('text.sse')).slice(0, 4);
    for (const event of events) translator.push(event);
    const frames = translator.fail('api_error', 'Upstream connection failed mid-stream');

    expect(frames.map((frame) => new TextDecoder().decode(frame))).toEqual([
      'data: {"error":{"message":"Upstream connection failed mid-stream","type":"api_error","param":null,"code":null}}\n\n',
    ]);
    expect(translator.end()).toEqual([]);
  });

  it('finishes a stream cut right after message_delta, and reports one cut earlier as an error', () => {
    const events = upstreamEvents(fixture('text.sse'));
    const cutAfterDelta = translate(
      driven('messages', createMessagesToChatStream({ model: 'm', includeUsage: true })),
      events.slice(0, -1),
    );
    const cutEarly = translate(
      driven('messages', createMessagesToChatStream({ model: 'm', includeUsage: true })),
      events.slice(0, 5),
    );

    expect(readChatStream(cutAfterDelta, { model: 'm', includeUsage: true }).finishReason).toBe('stop');
    expect(cutEarly.at(-1)).toContain('"error":{"message":"Upstream stream ended before the message was complete"');
    expect(cutEarly.join('')).not.toContain('[DONE]');
  });

  it('uses tool input sent whole in content_block_start instead of waiting for deltas', () => {
    const translator = driven('messages', createMessagesToChatStream({ model: 'm', includeUsage: false }));
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{"tz":"UTC"}}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    const result = readChatStream(translate(translator, upstreamEvents(sse)), { model: 'm', includeUsage: false });

    expect(result.toolCalls).toEqual([{ id: 'toolu_1', name: 'now', arguments: '{"tz":"UTC"}' }]);
  });
});

// ─── response ────────────────────────────────────────────────────────────────────────────────────

describe('messagesResponseToChat', () => {
  it('maps text, tool_use and thinking blocks, the stop reason and cache-aware usage into a chat.completion', () => {
    const message = JSON.parse(fixture('message.json')) as Json;

    expect(atFixedTime(() => messagesResponseToChat(message, { model: 'my-claude' }))).toEqual({
      id: 'msg_01JbQBNwN1ZPoyqdYnhjv9qQ',
      object: 'chat.completion',
      created: 1_750_000_000,
      model: 'my-claude',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me check the weather in Paris.',
            refusal: null,
            reasoning_content: 'The user wants the weather in Paris; I should call get_weather.',
            tool_calls: [
              {
                id: 'toolu_01D7FLrfh4GYq7yT1ULFeyMV',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
              },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 320 + 4096 + 2048,
        completion_tokens: 96,
        total_tokens: 6464 + 96,
        prompt_tokens_details: { cached_tokens: 4096, cache_write_tokens: 2048 },
        completion_tokens_details: { reasoning_tokens: 31 },
      },
    });
  });

  it('answers content null when the message holds only tool calls', () => {
    const completion = messagesResponseToChat(
      {
        id: 'msg_2',
        content: [{ type: 'tool_use', id: 'toolu_2', name: 'ping', input: {} }],
        stop_reason: 'tool_use',
      },
      { model: 'm' },
    );
    const choice = (completion['choices'] as Json[])[0] as { message: Json };

    expect(choice.message['content']).toBeNull();
    expect(choice.message['tool_calls']).toEqual([
      { id: 'toolu_2', type: 'function', function: { name: 'ping', arguments: '{}' } },
    ]);
    expect(completion['usage']).toBeUndefined();
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    [null, 'stop'],
  ])('maps stop_reason %s to finish_reason %s', (stopReason, finishReason) => {
    expect(finishReasonFor(stopReason)).toBe(finishReason);
  });
});

// ─── request ─────────────────────────────────────────────────────────────────────────────────────

const OPTIONS: ChatToMessagesOptions = { upstreamModel: 'claude-sonnet-4-6', defaultMaxTokens: 4096 };
const user = (content: unknown) => ({ role: 'user', content });
const hi = [user('Hi')];
const translated = (body: Json, options: Partial<ChatToMessagesOptions> = {}): Json =>
  chatRequestToMessages({ model: 'my-claude', ...body }, { ...OPTIONS, ...options });

const WEATHER: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const TIME: ChatCompletionTool = { type: 'function', function: { name: 'get_time' } };

interface RequestCase {
  name: string;
  body: Json;
  options?: Partial<ChatToMessagesOptions>;
  expected: Json;
}

describe('chatRequestToMessages', () => {
  const cases: RequestCase[] = [
    {
      name: 'hoists system and developer messages (string and text parts) into the system prompt, in order',
      body: {
        messages: [
          { role: 'system', content: 'You are terse.' },
          user('Hi'),
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        ],
      },
      expected: {
        model: 'claude-sonnet-4-6',
        max_tokens: 4096,
        system: [
          { type: 'text', text: 'You are terse.' },
          { type: 'text', text: 'Answer in French.' },
        ],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      },
    },
    {
      name: 'keeps a multi-turn text conversation and merges adjacent same-role turns',
      body: {
        messages: [
          user('Hi'),
          { role: 'assistant', content: 'Hello!' },
          user('Two things:'),
          user([{ type: 'text', text: 'first' }]),
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Two things:' },
              { type: 'text', text: 'first' },
            ],
          },
        ],
      },
    },
    {
      name: 'turns image URLs into url sources and base64 data URLs into base64 sources',
      body: {
        messages: [
          user([
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
          ]),
        ],
      },
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare' },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
            ],
          },
        ],
      },
    },
    {
      name: 'sends an inline PDF file as a document block',
      body: {
        messages: [
          user([{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' } }]),
        ],
      },
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'document',
                source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' },
                title: 'a.pdf',
              },
            ],
          },
        ],
      },
    },
    {
      name: 'translates tools and tool_choice auto',
      body: { messages: hi, tools: [WEATHER], tool_choice: 'auto' },
      expected: { tools: [WEATHER_TOOL], tool_choice: { type: 'auto' } },
    },
    {
      name: 'translates tool_choice none',
      body: { messages: hi, tools: [WEATHER], tool_choice: 'none' },
      expected: { tool_choice: { type: 'none' } },
    },
    {
      name: 'translates tool_choice required to any',
      body: { messages: hi, tools: [WEATHER], tool_choice: 'required' },
      expected: { tool_choice: { type: 'any' } },
    },
    {
      name: 'translates a named tool_choice to type tool',
      body: { messages: hi, tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_time' } } },
      expected: {
        tools: [WEATHER_TOOL, { name: 'get_time', input_schema: { type: 'object', properties: {} } }],
        tool_choice: { type: 'tool', name: 'get_time' },
      },
    },
    {
      name: 'translates parallel_tool_calls: false to disable_parallel_tool_use',
      body: { messages: hi, tools: [WEATHER], parallel_tool_calls: false },
      expected: { tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
    },
    {
      name: 'offers only the allowed tools for tool_choice allowed_tools',
      body: {
        messages: hi,
        tools: [WEATHER, TIME],
        tool_choice: {
          type: 'allowed_tools',
          allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_weather' } }] },
        },
      },
      expected: { tools: [WEATHER_TOOL], tool_choice: { type: 'any' } },
    },
    {
      name: 'translates legacy functions, function_call and function results',
      body: {
        functions: [WEATHER.function],
        function_call: { name: 'get_weather' },
        messages: [
          user('Weather in Oslo?'),
          { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { role: 'function', name: 'get_weather', content: '-3°C' },
        ],
      },
      expected: {
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'call_legacy_1', name: 'get_weather', input: { city: 'Oslo' } }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_legacy_1', content: '-3°C' }] },
        ],
      },
    },
    {
      name: 'translates a two-turn conversation with parallel tool calls and their results into one user turn',
      body: {
        tools: [WEATHER, TIME],
        messages: [
          user('Weather and time in Paris?'),
          {
            role: 'assistant',
            content: 'Checking both.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '18°C, sunny' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:05' }] },
          { role: 'assistant', content: "It's 18°C and sunny; the time is 14:05." },
          user('Thanks!'),
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking both.' },
              { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'call_1', content: '18°C, sunny' },
              { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '14:05' }] },
            ],
          },
          { role: 'assistant', content: [{ type: 'text', text: "It's 18°C and sunny; the time is 14:05." }] },
          { role: 'user', content: [{ type: 'text', text: 'Thanks!' }] },
        ],
      },
    },
    {
      name: 'puts tool results before text in a merged user turn, and keeps is_error',
      body: {
        messages: [
          user('Go'),
          {
            role: 'assistant',
            tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
          },
          user('(hurry)'),
          { role: 'tool', tool_call_id: 'call_9', content: 'timeout', is_error: true },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Go' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'call_9', name: 'get_weather', input: {} }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'call_9', content: 'timeout', is_error: true },
              { type: 'text', text: '(hurry)' },
            ],
          },
        ],
      },
    },
    {
      name: "makes other vendors' tool call ids fit Anthropic's id pattern, the same way on both ends",
      body: {
        messages: [
          user('Go'),
          {
            role: 'assistant',
            tool_calls: [{ id: 'functions.get_weather:0', type: 'function', function: { name: 'get_weather' } }],
          },
          { role: 'tool', tool_call_id: 'functions.get_weather:0', content: 'ok' },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Go' }] },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'functions_get_weather_0', name: 'get_weather', input: {} }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'functions_get_weather_0', content: 'ok' }] },
        ],
      },
    },
    {
      name: 'drops unsigned reasoning_content and participant names from assistant turns',
      body: {
        messages: [
          user('Hi'),
          { role: 'assistant', name: 'bot', content: 'Hello', reasoning_content: 'the user greets me' },
          { role: 'user', name: 'ann', content: 'Bye' },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] },
          { role: 'user', content: [{ type: 'text', text: 'Bye' }] },
        ],
      },
    },
    {
      name: 'drops blank text, which Anthropic refuses, and assistant turns left empty by it',
      body: {
        messages: [
          user([
            { type: 'text', text: 'Hi' },
            { type: 'text', text: '  \n' },
          ]),
          { role: 'assistant', content: ' ' },
          user('Still there?'),
        ],
      },
      expected: {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hi' },
              { type: 'text', text: 'Still there?' },
            ],
          },
        ],
      },
    },
    {
      name: 'prefers max_completion_tokens over max_tokens',
      body: { messages: hi, max_tokens: 100, max_completion_tokens: 200 },
      expected: { max_tokens: 200 },
    },
    {
      name: 'uses max_tokens when it is the only limit',
      body: { messages: hi, max_tokens: 100 },
      expected: { max_tokens: 100 },
    },
    {
      name: 'clamps temperature to Anthropic’s 0–1 and keeps top_p when alone',
      body: { messages: hi, temperature: 1.7 },
      expected: { temperature: 1 },
    },
    {
      name: 'keeps top_p when temperature is absent',
      body: { messages: hi, top_p: 0.9 },
      expected: { top_p: 0.9 },
    },
    {
      name: 'translates stop (string or list) to stop_sequences, dropping whitespace-only ones',
      body: { messages: hi, stop: ['END', '\n', ' '] },
      expected: { stop_sequences: ['END'] },
    },
    {
      name: 'translates user to metadata.user_id',
      body: { messages: hi, user: 'user-42' },
      expected: { metadata: { user_id: 'user-42' } },
    },
    {
      name: 'prefers safety_identifier over user for metadata.user_id',
      body: { messages: hi, user: 'user-42', safety_identifier: 'hash-7' },
      expected: { metadata: { user_id: 'hash-7' } },
    },
    {
      name: 'keeps the stream flag as asked',
      body: { messages: hi, stream: true, stream_options: { include_usage: true } },
      expected: { stream: true },
    },
    {
      name: 'maps response_format json_schema to output_config.format',
      body: {
        messages: hi,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: {} } },
        },
      },
      expected: { output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: {} } } } },
    },
    {
      name: 'maps reasoning_effort to a thinking budget and drops sampling parameters while thinking',
      body: { messages: hi, reasoning_effort: 'medium', max_completion_tokens: 20_000, temperature: 0.2 },
      expected: { max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: THINKING_BUDGETS.medium } },
    },
    {
      name: 'caps the thinking budget so the answer keeps 1024 tokens of max_tokens',
      body: { messages: hi, reasoning_effort: 'high', max_tokens: 5000 },
      expected: { max_tokens: 5000, thinking: { type: 'enabled', budget_tokens: 5000 - 1024 } },
    },
    {
      name: 'maps reasoning_effort to adaptive thinking and output_config.effort on adaptive-only models',
      body: { messages: hi, reasoning_effort: 'minimal', temperature: 0.5, top_p: 0.5 },
      options: { upstreamModel: 'claude-opus-5-5' },
      expected: { model: 'claude-opus-5-5', thinking: { type: 'adaptive' }, output_config: { effort: 'low' } },
    },
    {
      name: 'passes an explicit Anthropic thinking object through, checked',
      body: { messages: hi, thinking: { type: 'enabled', budget_tokens: 2048 }, reasoning_effort: 'high' },
      expected: { thinking: { type: 'enabled', budget_tokens: 2048 } },
    },
    {
      name: 'keeps the last four cache breakpoints from cache_control and prompt_cache_breakpoint',
      body: {
        messages: [
          {
            role: 'system',
            content: [
              { type: 'text', text: 's1', cache_control: { type: 'ephemeral' } },
              { type: 'text', text: 's2', cache_control: { type: 'ephemeral', ttl: '1h' } },
            ],
          },
          user([
            { type: 'text', text: 'u1', cache_control: { type: 'ephemeral' } },
            { type: 'text', text: 'u2', prompt_cache_breakpoint: { mode: 'explicit' } },
            { type: 'text', text: 'u3', cache_control: { type: 'ephemeral' } },
          ]),
        ],
      },
      expected: {
        system: [
          { type: 'text', text: 's1' },
          { type: 'text', text: 's2', cache_control: { type: 'ephemeral', ttl: '1h' } },
        ],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'u1', cache_control: { type: 'ephemeral' } },
              { type: 'text', text: 'u2', cache_control: { type: 'ephemeral' } },
              { type: 'text', text: 'u3', cache_control: { type: 'ephemeral' } },
            ],
          },
        ],
      },
    },
  ];

  it.each(cases)('$name', ({ body, options, expected }) => {
    expect(translated(body, options)).toMatchObject(expected);
  });

  it('builds the body from what maps: unknown and untranslatable fields never reach Anthropic', () => {
    const body = translated({
      messages: hi,
      seed: 7,
      logit_bias: { 50256: -100 },
      frequency_penalty: 1,
      presence_penalty: 1,
      metadata: { team: 'a' },
      store: true,
      service_tier: 'flex',
      stream: false,
      stream_options: { include_usage: true },
      response_format: { type: 'json_object' },
      prompt_cache_key: 'k',
      verbosity: 'low',
      n: 1,
      logprobs: false,
      top_k: 5,
      anything_else: 'x',
    });

    expect(body).toEqual({
      model: 'claude-sonnet-4-6',
      max_tokens: 4096,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stream: false,
    });
  });

  it('drops every top-level field its documented drop rules name', () => {
    const named = Object.keys(DROPPED_CHAT_FIELDS).filter((field) => /^\w+$/.test(field));
    const body = translated({ messages: hi, ...Object.fromEntries(named.map((field) => [field, 'x'])) });

    expect(named).toContain('seed');
    expect(named.filter((field) => Object.hasOwn(body, field))).toEqual([]);
  });

  it('drops top_p when temperature is also set (Claude 4.5+ refuse both)', () => {
    const body = translated({ messages: hi, temperature: 0.3, top_p: 0.9 });

    expect(body['temperature']).toBe(0.3);
    expect(body).not.toHaveProperty('top_p');
  });

  it('drops sampling parameters while thinking, and on adaptive-only models always', () => {
    const thinking = translated({ messages: hi, reasoning_effort: 'low', temperature: 0.2, top_p: 0.9 });
    const adaptive = translated({ messages: hi, temperature: 0.2 }, { upstreamModel: 'claude-opus-4-7' });

    expect(thinking).not.toHaveProperty('temperature');
    expect(thinking).not.toHaveProperty('top_p');
    expect(adaptive).not.toHaveProperty('temperature');
  });

  it.each(Object.entries(THINKING_BUDGETS))('maps reasoning_effort %s to a budget of %i tokens', (effort, budget) => {
    const body = translated({ messages: hi, reasoning_effort: effort, max_completion_tokens: 64_000 });

    expect(body['thinking']).toEqual({ type: 'enabled', budget_tokens: budget });
  });

  it("sends no thinking for reasoning_effort none, or when max_tokens leaves no room for Anthropic's 1024 minimum", () => {
    expect(translated({ messages: hi, reasoning_effort: 'none' })).not.toHaveProperty('thinking');
    expect(translated({ messages: hi, reasoning_effort: 'high', max_tokens: 2047 })).not.toHaveProperty('thinking');
    expect(translated({ messages: hi, reasoning_effort: 'high', max_tokens: 2048 })['thinking']).toEqual({
      type: 'enabled',
      budget_tokens: 1024,
    });
  });

  it('leaves thinking off with a forced tool choice, which Anthropic refuses to combine with it', () => {
    const body = translated({ messages: hi, tools: [WEATHER], tool_choice: 'required', reasoning_effort: 'high' });

    expect(body).not.toHaveProperty('thinking');
    expect(body['tool_choice']).toEqual({ type: 'any' });
  });

  it('leaves thinking off when continuing a tool loop, whose signed thinking block the client cannot send back', () => {
    const loop = [
      user('Weather?'),
      { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
    ];
    const budget = translated({ messages: loop, tools: [WEATHER], reasoning_effort: 'high' });
    const adaptive = translated(
      { messages: loop, tools: [WEATHER], reasoning_effort: 'high' },
      { upstreamModel: 'claude-sonnet-5-5' },
    );
    const nextQuestion = translated({
      messages: [...loop, { role: 'assistant', content: 'Sunny.' }, user('And tomorrow?')],
      reasoning_effort: 'low',
    });

    // A question sent along with the results merges into their user turn: still the same loop.
    const withResults = translated({ messages: [...loop, user('And tomorrow?')], reasoning_effort: 'low' });

    expect(budget).not.toHaveProperty('thinking');
    expect(withResults).not.toHaveProperty('thinking');
    expect(adaptive).not.toHaveProperty('thinking');
    expect(adaptive['output_config']).toEqual({ effort: 'high' });
    expect(nextQuestion['thinking']).toEqual({ type: 'enabled', budget_tokens: 3072 });
  });

  it.each([
    ['claude-opus-4-7', true],
    ['claude-opus-5-5', true],
    ['claude-sonnet-5', true],
    ['claude-mythos-preview', true],
    ['claude-fable-5-2', true],
    ['claude-opus-4-6', false],
    ['claude-sonnet-4-5-20250929', false],
    ['claude-haiku-4-5', false],
  ])('treats %s as adaptive-only: %s', (model, adaptiveOnly) => {
    expect(isAdaptiveOnlyModel(model)).toBe(adaptiveOnly);
  });

  const refusals: [string, Json, string][] = [
    ['n > 1', { messages: hi, n: 2, stream: true }, 'n'],
    ['logprobs', { messages: hi, logprobs: true }, 'logprobs'],
    ['top_logprobs', { messages: hi, top_logprobs: 3 }, 'top_logprobs'],
    ['audio output', { messages: hi, modalities: ['text', 'audio'] }, 'modalities'],
    [
      'audio input',
      { messages: [user([{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }])] },
      'messages[0].content[0]',
    ],
    [
      'an unsupported image type',
      { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }])] },
      'messages[0].content[0]',
    ],
    ['a file id', { messages: [user([{ type: 'file', file: { file_id: 'file-1' } }])] }, 'messages[0].content[0]'],
    ['a custom tool', { messages: hi, tools: [{ type: 'custom', custom: { name: 'sql' } }] }, 'tools[0]'],
    [
      'tool call arguments that are not JSON',
      {
        messages: [
          user('Go'),
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }],
          },
        ],
      },
      'messages[1].tool_calls[0].function',
    ],
    [
      'a thinking budget at or above max_tokens',
      { messages: hi, max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 2000 } },
      'thinking',
    ],
    ['only system messages', { messages: [{ role: 'system', content: 'x' }] }, 'messages'],
  ];

  it.each(refusals)('refuses %s with a 400 invalid_request_error naming the parameter', (_, body, param) => {
    let thrown: unknown;
    try {
      translated(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidRequestError);
    expect(thrown).toMatchObject({ status: 400, type: 'invalid_request_error', param });
  });
});

// ─── errors ──────────────────────────────────────────────────────────────────────────────────────

describe('anthropicErrorToOpenAI', () => {
  const anthropicBody = (type: string, message: string, extra: Json = {}) =>
    JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' });

  it.each([
    [529, anthropicBody('overloaded_error', 'Overloaded'), 'overloaded_error', 'Overloaded'],
    [
      429,
      anthropicBody('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'),
      'rate_limit_error',
      'Number of request tokens has exceeded your per-minute rate limit',
    ],
    [
      400,
      anthropicBody('invalid_request_error', 'messages: at least one message is required'),
      'invalid_request_error',
      'messages: at least one message is required',
    ],
    [401, anthropicBody('authentication_error', 'invalid x-api-key'), 'authentication_error', 'invalid x-api-key'],
    [
      403,
      anthropicBody('permission_error', 'Your API key does not have permission'),
      'permission_error',
      'Your API key does not have permission',
    ],
    [404, anthropicBody('not_found_error', 'model: claude-x'), 'not_found_error', 'model: claude-x'],
    [
      413,
      anthropicBody('request_too_large', 'Request exceeds the maximum allowed number of bytes.'),
      'invalid_request_error',
      'Request exceeds the maximum allowed number of bytes.',
    ],
    [500, anthropicBody('api_error', 'Internal server error'), 'api_error', 'Internal server error'],
    [504, anthropicBody('timeout_error', 'Request timed out.'), 'api_error', 'Request timed out.'],
    [502, '<html><body>Bad gateway</body></html>', 'api_error', 'Upstream error (HTTP 502)'],
    [429, 'slow down', 'rate_limit_error', 'Upstream error (HTTP 429): slow down'],
  ])('renders HTTP %i in the OpenAI envelope with its status kept', (status, body, type, message) => {
    const translatedError = anthropicErrorToOpenAI(status, body);

    expect(translatedError.status).toBe(status);
    expect(JSON.parse(translatedError.body)).toEqual({ error: { message, type, param: null, code: null } });
  });

  it("carries Anthropic's details.error_code as the OpenAI code", () => {
    const body = anthropicBody('billing_error', 'Spend limit reached', {
      details: { error_code: 'enforced_spend_limit_reached' },
    });

    expect(JSON.parse(anthropicErrorToOpenAI(400, body).body).error).toMatchObject({
      type: 'billing_error',
      code: 'enforced_spend_limit_reached',
    });
  });
});

// ─── the real OpenAI SDK over translated answers ─────────────────────────────────────────────────

/**
 * The forwarding path of this direction in miniature: the OpenAI SDK's request is translated,
 * sent to the fake Anthropic upstream on 127.0.0.1 (or answered from a recorded fixture when the
 * model is `fixture:<file>`), and the answer is translated back into what the SDK parses.
 */
const translatingFetch =
  (upstream: FakeUpstream): typeof fetch =>
  async (_input, init) => {
    const chat = JSON.parse(String(init?.body)) as Json;
    const model = String(chat['model']);
    const streamOptions = (chat['stream_options'] ?? {}) as Json;
    const translator = driven(
      'messages',
      createMessagesToChatStream({ model, includeUsage: streamOptions['include_usage'] === true }),
    );
    const sse = (body: ReadableStream<Uint8Array>) =>
      new Response(translateStream(body, translator), { headers: { 'content-type': 'text/event-stream' } });

    if (model.startsWith('fixture:')) {
      return sse(new Blob([fixture(model.slice('fixture:'.length))]).stream());
    }
    const messages = chatRequestToMessages(chat, { upstreamModel: model, defaultMaxTokens: 1024 });
    const response = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(messages),
    });
    if (!response.ok) {
      const error = anthropicErrorToOpenAI(response.status, await response.text());
      return new Response(error.body, { status: error.status, headers: { 'content-type': 'application/json' } });
    }
    if (messages['stream'] === true && response.body) return sse(response.body);
    const completion = messagesResponseToChat((await response.json()) as Json, { model });
    return Response.json(completion);
  };

describe('translated answers through the real OpenAI SDK', () => {
  let upstream: FakeUpstream;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    client = new OpenAI({
      apiKey: 'sk-test',
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
      fetch: translatingFetch(upstream),
    });
  });

  afterAll(async () => {
    await upstream.close();
  });

  beforeEach(() => {
    upstream.reset();
  });

  const strictTools: ChatCompletionTool[] = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        strict: true,
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
          additionalProperties: false,
        },
      },
    },
    {
      type: 'function',
      function: {
        name: 'get_time',
        strict: true,
        parameters: {
          type: 'object',
          properties: { timezone: { type: 'string' } },
          required: ['timezone'],
          additionalProperties: false,
        },
      },
    },
  ];

  const streamParams = (model: string, extra: Partial<ChatCompletionCreateParamsStreaming> = {}) => ({
    model,
    messages: [{ role: 'user' as const, content: 'hello there' }],
    stream_options: { include_usage: true },
    ...extra,
  });

  it('streams parallel tool calls that the SDK assembles with their arguments parsed', async () => {
    const completion = await client.chat.completions
      .stream(streamParams('parallel-tool-calls', { tools: strictTools }))
      .finalChatCompletion();
    const choice = completion.choices[0];

    expect(choice?.finish_reason).toBe('tool_calls');
    expect(
      choice?.message.tool_calls?.map((call) =>
        call.type === 'function' ? [call.id, call.function.name, call.function.parsed_arguments] : [],
      ),
    ).toEqual([
      ['toolu_fake000001_0', 'get_weather', { city: 'Paris' }],
      ['toolu_fake000001_1', 'get_time', { timezone: 'Europe/Paris' }],
    ]);
    expect(completion.model).toBe('parallel-tool-calls');
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
    expect(upstream.lastRequest?.body).toMatchObject({
      model: 'parallel-tool-calls',
      max_tokens: 1024,
      stream: true,
      tools: [{ name: 'get_weather' }, { name: 'get_time' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
    });
  });

  it('streams a recorded tool-call answer that the SDK assembles into text plus one parsed call', async () => {
    const completion = await client.chat.completions
      .stream(streamParams('fixture:tool-call.sse', { stream_options: { include_usage: false } }))
      .finalChatCompletion();
    const message = completion.choices[0]?.message;
    const [call] = message?.tool_calls ?? [];

    expect(message?.content).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({
      location: 'San Francisco, CA',
      unit: 'fahrenheit',
    });
    expect(completion.usage).toBeUndefined();
  });

  it('streams text, thinking first and cache-aware usage from the fake upstream', async () => {
    const stream = client.chat.completions.stream(streamParams('thinking+cached'));
    const completion = await stream.finalChatCompletion();

    expect(await stream.finalContent()).toBe('fake reply to: hello there');
    expect(completion.usage).toEqual({
      prompt_tokens: 10 + 100 + 50,
      completion_tokens: 20,
      total_tokens: 180,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 50 },
      completion_tokens_details: { reasoning_tokens: 8 },
    });
  });

  it("raises the SDK's APIError for an in-stream error event", async () => {
    const stream = client.chat.completions.stream(streamParams('fixture:error-mid-stream.sse'));

    await expect(stream.finalChatCompletion()).rejects.toMatchObject({
      constructor: OpenAI.APIError,
      message: expect.stringContaining('Overloaded'),
      type: 'overloaded_error',
    });
  });

  it('answers a non-stream request with a chat.completion the SDK accepts', async () => {
    const completion = await client.chat.completions.create({
      model: 'tool-call',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: strictTools,
    });
    const [call] = completion.choices[0]?.message.tool_calls ?? [];

    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && [call.function.name, JSON.parse(call.function.arguments)]).toEqual([
      'get_weather',
      { city: 'Paris' },
    ]);
  });

  it("maps upstream errors to the SDK's typed errors with the status kept", async () => {
    const params = { messages: [{ role: 'user' as const, content: 'hi' }] };

    await expect(client.chat.completions.create({ model: 'fail-529', ...params })).rejects.toMatchObject({
      constructor: OpenAI.InternalServerError,
      status: 529,
      type: 'overloaded_error',
    });
    await expect(client.chat.completions.create({ model: 'fail-429', ...params })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
  });
});
