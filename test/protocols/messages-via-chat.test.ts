import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/errors.ts';
import {
  chatResponseToMessages,
  createChatToMessagesStream,
  DROPPED_MESSAGES_FIELDS,
  messagesRequestToChat,
  openAIErrorToAnthropic,
} from '../../lambdas/protocols/translate/messages-via-chat.ts';
import type { UpstreamEvent } from '../../lambdas/protocols/translate/types.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { driven, fixture as readFixture, translateStream, upstreamEvents } from '../support/translators.ts';

type Json = Record<string, unknown>;

const fixture = (name: string): string => readFixture('messages-via-chat', name);
const sseEvents = upstreamEvents;

const concat = (frames: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(frames.reduce((size, frame) => size + frame.length, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
};

const translateFixture = (name: string): Uint8Array[] => {
  const translator = driven('chat', createChatToMessagesStream({ model: 'claude-sonnet-4-5' }));
  const frames = sseEvents(fixture(name)).flatMap((event) => translator.push(event));
  return [...frames, ...translator.end()];
};

interface ClientEvent {
  event: string;
  data: Json;
}

const clientEvents = (frames: Uint8Array[]): ClientEvent[] =>
  sseEvents(concat(frames)).map((event) => ({ event: event.event ?? '', data: event.data ?? {} }));

/**
 * What a strict Anthropic client accepts: message_start first, message_stop last after one
 * message_delta, every `event:` equal to its data's type, blocks 0, 1, 2… each started, fed and
 * stopped before the next opens, all closed before message_delta.
 */
const expectWellFormed = (events: ClientEvent[]): void => {
  for (const { event, data } of events) expect(data['type']).toBe(event);
  expect(events[0]?.event).toBe('message_start');
  expect(events.at(-1)?.event).toBe('message_stop');
  expect(events.at(-2)?.event).toBe('message_delta');
  expect(events.filter((e) => e.event === 'message_start' || e.event === 'message_delta')).toHaveLength(2);
  let next = 0;
  let open: number | undefined;
  for (const { event, data } of events.slice(1, -2)) {
    if (event === 'content_block_start') {
      expect(open).toBeUndefined();
      expect(data['index']).toBe(next);
      open = next;
      next += 1;
    } else if (event === 'content_block_delta') {
      expect(data['index']).toBe(open);
    } else if (event === 'content_block_stop') {
      expect(data['index']).toBe(open);
      open = undefined;
    } else {
      throw new Error(`unexpected ${event} between message_start and message_delta`);
    }
  }
  expect(open).toBeUndefined();
};

/** The events without the start message body, as compact `[event, index, delta-or-block]` rows. */
const outline = (events: ClientEvent[]): unknown[] =>
  events.map(({ event, data }) => {
    if (event === 'content_block_start') return [event, data['index'], data['content_block']];
    if (event === 'content_block_delta') return [event, data['index'], data['delta']];
    if (event === 'content_block_stop') return [event, data['index']];
    if (event === 'message_delta') return [event, data['delta'], data['usage']];
    if (event === 'error') return [event, data['error']];
    return [event];
  });

/** An Anthropic SDK client whose every request is answered by these SSE frames. */
const clientAnsweredBy = (frames: Uint8Array[]): Anthropic =>
  new Anthropic({
    apiKey: 'sk-test',
    baseURL: 'http://127.0.0.1:9',
    maxRetries: 0,
    fetch: async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const frame of frames) controller.enqueue(frame);
            controller.close();
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  });

const streamParams = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Weather and time in Paris?' }],
};

// ─── request ─────────────────────────────────────────────────────────────────────────────────────

describe('messagesRequestToChat', () => {
  const base = { model: 'claude-sonnet-4-5', max_tokens: 1024 };
  const translate = (body: Json, options: Partial<Parameters<typeof messagesRequestToChat>[1]> = {}): Json =>
    messagesRequestToChat({ ...base, ...body }, { upstreamModel: 'gpt-4o-mini', ...options });
  const onlyUser = (content: unknown) => ({ messages: [{ role: 'user', content }] });

  it('uses the upstream model and puts max_tokens in max_completion_tokens', () => {
    expect(translate(onlyUser('Hi'))).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 1024,
    });
  });

  it('streams with include_usage so the gateway can bill', () => {
    const chat = translate({ ...onlyUser('Hi'), stream: true });
    expect(chat['stream']).toBe(true);
    expect(chat['stream_options']).toEqual({ include_usage: true });
    expect(translate({ ...onlyUser('Hi'), stream: false })).not.toHaveProperty('stream');
  });

  it.each([
    ['a string system prompt', 'Be brief.', 'Be brief.'],
    [
      'system text blocks (cache_control dropped)',
      [
        { type: 'text', text: 'You are Claude Code.' },
        { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
      ],
      'You are Claude Code.\nBe brief.',
    ],
  ])('turns %s into one system message', (_name, system, expected) => {
    const chat = translate({ system, ...onlyUser('Hi') });
    expect(chat['messages']).toEqual([
      { role: 'system', content: expected },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('keeps a system turn inside the conversation where it is', () => {
    const chat = translate({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'system', content: [{ type: 'text', text: 'Now answer in French.' }] },
        { role: 'user', content: 'Hello?' },
      ],
    });
    expect(chat['messages']).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'system', content: 'Now answer in French.' },
      { role: 'user', content: 'Hello?' },
    ]);
  });

  it.each<[string, unknown, unknown]>([
    ['a single text block as a string', [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }], 'Hi'],
    [
      'several text blocks as parts',
      [
        { type: 'text', text: '<system-reminder>x</system-reminder>' },
        { type: 'text', text: 'Hi' },
      ],
      [
        { type: 'text', text: '<system-reminder>x</system-reminder>' },
        { type: 'text', text: 'Hi' },
      ],
    ],
    [
      'a base64 image as a data URL',
      [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'text', text: 'What is this?' },
      ],
      [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'text', text: 'What is this?' },
      ],
    ],
    [
      'a URL image as its URL',
      [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } }],
      [{ type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } }],
    ],
    [
      'a base64 PDF as a file part',
      [
        {
          type: 'document',
          title: 'report.pdf',
          source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' },
        },
      ],
      [{ type: 'file', file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }],
    ],
    [
      'a text document as text',
      [{ type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'Buy milk.' } }],
      'Notes\n\nBuy milk.',
    ],
    [
      'a search result as text',
      [
        {
          type: 'search_result',
          title: 'Paris',
          source: 'https://example.com/paris',
          content: [{ type: 'text', text: 'Capital of France.' }],
        },
      ],
      'Paris\nhttps://example.com/paris\n\nCapital of France.',
    ],
  ])('translates user content: %s', (_name, content, expected) => {
    expect(translate(onlyUser(content))['messages']).toEqual([{ role: 'user', content: expected }]);
  });

  it('translates a two-turn conversation with a tool call and its result', () => {
    const chat = translate({
      system: 'You can look up the weather.',
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather for a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          cache_control: { type: 'ephemeral' },
          strict: true,
        },
      ],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I should call the tool.', signature: 'EqQBCgIYAhIM' },
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01A', content: '18°C, sunny' },
            { type: 'text', text: 'And should I take a coat?' },
          ],
        },
      ],
    });
    expect(chat['tools']).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ]);
    expect(chat['messages']).toEqual([
      { role: 'system', content: 'You can look up the weather.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'toolu_01A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_01A', content: '18°C, sunny' },
      { role: 'user', content: 'And should I take a coat?' },
    ]);
  });

  it('answers parallel tool calls with consecutive tool messages, errors marked, images after them', () => {
    const chat = translate({
      messages: [
        { role: 'user', content: 'Weather and a map of Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_map', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Service unavailable', is_error: true },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              content: [
                { type: 'text', text: 'Map attached.' },
                { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
                { type: 'tool_reference', tool_name: 'get_map' },
              ],
            },
          ],
        },
      ],
    });
    expect(chat['messages']).toEqual([
      { role: 'user', content: 'Weather and a map of Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_map', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Error: Service unavailable' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Map attached.' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }] },
    ]);
  });

  it('drops assistant turns left empty once thinking and server-tool blocks are dropped', () => {
    const chat = translate({
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: [
            { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3p' },
            { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'x' } },
            { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
          ],
        },
        { role: 'user', content: 'Hello?' },
      ],
    });
    expect(chat['messages']).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'user', content: 'Hello?' },
    ]);
  });

  it('drops earlier thinking from assistant turns', () => {
    const body = {
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Greet back.', signature: '' },
            { type: 'text', text: 'Hello!' },
          ],
        },
        { role: 'user', content: 'Again' },
      ],
    };
    const [, plain] = translate(body)['messages'] as Json[];
    expect(plain).toEqual({ role: 'assistant', content: 'Hello!' });
  });

  const tool = { name: 'get_weather', input_schema: { type: 'object' } };
  it.each<[string, Json, Json]>([
    ['auto', { type: 'auto' }, { tool_choice: 'auto' }],
    ['any → required', { type: 'any' }, { tool_choice: 'required' }],
    ['none', { type: 'none' }, { tool_choice: 'none' }],
    [
      'a named tool',
      { type: 'tool', name: 'get_weather' },
      { tool_choice: { type: 'function', function: { name: 'get_weather' } } },
    ],
    [
      'disable_parallel_tool_use → parallel_tool_calls: false',
      { type: 'auto', disable_parallel_tool_use: true },
      { tool_choice: 'auto', parallel_tool_calls: false },
    ],
  ])('maps tool_choice %s', (_name, toolChoice, expected) => {
    const chat = translate({ ...onlyUser('Hi'), tools: [tool], tool_choice: toolChoice });
    expect({ tool_choice: chat['tool_choice'], parallel_tool_calls: chat['parallel_tool_calls'] }).toEqual({
      parallel_tool_calls: undefined,
      ...expected,
    });
  });

  it('sends no tool_choice without tools (OpenAI rejects it)', () => {
    const chat = translate({ ...onlyUser('Hi'), tools: [], tool_choice: { type: 'any' } });
    expect(chat).not.toHaveProperty('tools');
    expect(chat).not.toHaveProperty('tool_choice');
  });

  it('carries sampling, stop sequences and the end user; drops top_k and Anthropic-only fields', () => {
    const chat = translate({
      ...onlyUser('Hi'),
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['\n\nHuman:', 'END'],
      metadata: { user_id: 'user-42' },
      service_tier: 'auto',
      cache_control: { type: 'ephemeral' },
      container: 'container_1',
      mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'x' }],
      inference_geo: 'us',
      some_future_field: true,
    });
    expect(chat).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 1024,
      temperature: 0.7,
      top_p: 0.9,
      stop: ['\n\nHuman:', 'END'],
      user: 'user-42',
    });
    for (const field of ['top_k', 'service_tier', 'cache_control', 'container', 'mcp_servers', 'inference_geo']) {
      expect(DROPPED_MESSAGES_FIELDS[field]).toEqual(expect.any(String));
    }
  });

  it.each<[string, Json, string | undefined]>([
    ['no thinking', {}, undefined],
    ['disabled thinking', { thinking: { type: 'disabled' } }, undefined],
    ['adaptive thinking (model default)', { thinking: { type: 'adaptive' } }, undefined],
    ['the minimum budget', { thinking: { type: 'enabled', budget_tokens: 1024 } }, 'low'],
    ['"think" (4,000)', { thinking: { type: 'enabled', budget_tokens: 4000 } }, 'low'],
    ['"think hard" (10,000)', { thinking: { type: 'enabled', budget_tokens: 10_000 } }, 'medium'],
    ['"ultrathink" (31,999)', { thinking: { type: 'enabled', budget_tokens: 31_999 } }, 'high'],
    ['a huge budget', { thinking: { type: 'enabled', budget_tokens: 128_000 } }, 'high'],
    [
      'output_config.effort, which wins',
      { thinking: { type: 'enabled', budget_tokens: 2000 }, output_config: { effort: 'xhigh' } },
      'xhigh',
    ],
  ])('maps %s to reasoning_effort', (_name, body, effort) => {
    expect(translate({ ...onlyUser('Hi'), ...body })['reasoning_effort']).toBe(effort);
  });

  it('maps a JSON-schema output format to response_format', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    const chat = translate({ ...onlyUser('Hi'), output_config: { format: { type: 'json_schema', schema } } });
    expect(chat['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema } });
  });

  it.each<[string, Json, RegExp]>([
    [
      'an Anthropic server tool',
      { tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
      /tools\.0: tool type 'web_search_20250305'/,
    ],
    ['an Anthropic-schema client tool', { tools: [{ type: 'bash_20250124', name: 'bash' }] }, /bash_20250124/],
    [
      'an image given by Files API id',
      onlyUser([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }]),
      /messages\.0\.content\.0\.source: only base64 and url images/,
    ],
    [
      'a PDF given by URL',
      onlyUser([{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }]),
      /only base64 PDF, text and content documents/,
    ],
    [
      'an unknown block type',
      onlyUser([{ type: 'hologram', data: 'x' }]),
      /content block type 'hologram' cannot be translated/,
    ],
    ['an unknown role', { messages: [{ role: 'tool', content: 'x' }] }, /messages\.0\.role/],
  ])('refuses %s with a 400 instead of answering another question', (_name, body, message) => {
    const attempt = () => translate(body['messages'] ? body : { ...onlyUser('Hi'), ...body });
    expect(attempt).toThrow(InvalidRequestError);
    expect(attempt).toThrow(message);
  });
});

// ─── response ────────────────────────────────────────────────────────────────────────────────────

describe('chatResponseToMessages', () => {
  it('turns text and parallel tool calls into text and tool_use blocks with parsed input and split cache usage', () => {
    const completion = JSON.parse(fixture('completion-tool-calls.json')) as Json;
    expect(chatResponseToMessages(completion, { model: 'claude-sonnet-4-5' })).toEqual({
      id: 'msg_chatcmpl-BrTB7mLq2XcV9nR4kWj8sYh1ZpDe',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'text', text: 'I will check both.', citations: null },
        {
          type: 'tool_use',
          id: 'call_Ux5vK8bW2yFhQ1mR7nLpC3aZ',
          name: 'get_weather',
          input: { city: 'Paris' },
          caller: { type: 'direct' },
        },
        {
          type: 'tool_use',
          id: 'call_Hb2nT6qJ9xEw4cY8sZ1kV0rD',
          name: 'get_time',
          input: { timezone: 'Europe/Paris' },
          caller: { type: 'direct' },
        },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: {
        input_tokens: 264,
        output_tokens: 56,
        cache_read_input_tokens: 1024,
        cache_creation_input_tokens: 0,
        cache_creation: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: null,
        inference_geo: null,
        speed: null,
      },
    });
  });

  it('turns reasoning_content into a thinking block before the text, with thinking tokens', () => {
    const completion = JSON.parse(fixture('completion-reasoning.json')) as Json;
    const message = chatResponseToMessages(completion, { model: 'claude-opus-4-5' });
    expect(message['content']).toEqual([
      { type: 'thinking', thinking: 'The user asks for 9.11 vs 9.9. 9.9 = 9.90 > 9.11.', signature: '' },
      { type: 'text', text: '9.9 is larger.', citations: null },
    ]);
    expect(message['stop_reason']).toBe('end_turn');
    expect(message['usage']).toMatchObject({
      input_tokens: 26,
      cache_read_input_tokens: 64,
      output_tokens: 120,
      output_tokens_details: { thinking_tokens: 95 },
    });
  });

  const completionWith = (message: Json, finish: string): Json => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [
      { index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, finish_reason: finish },
    ],
    usage: {
      prompt_tokens: 160,
      completion_tokens: 5,
      total_tokens: 165,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 50 },
    },
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['content_filter', 'refusal'],
    ['tool_calls', 'tool_use'],
  ])('maps finish_reason %s to stop_reason %s', (finish, stop) => {
    const message = chatResponseToMessages(completionWith({ content: 'x' }, finish), { model: 'm' });
    expect(message['stop_reason']).toBe(stop);
  });

  it('reports a refusal as text with stop_reason refusal', () => {
    const message = chatResponseToMessages(completionWith({ refusal: "I can't help with that." }, 'stop'), {
      model: 'm',
    });
    expect(message['content']).toEqual([{ type: 'text', text: "I can't help with that.", citations: null }]);
    expect(message['stop_reason']).toBe('refusal');
  });

  it('splits cache reads and writes out of prompt_tokens so each token is counted once', () => {
    const message = chatResponseToMessages(completionWith({ content: 'x' }, 'stop'), { model: 'm' });
    expect(message['usage']).toMatchObject({
      input_tokens: 10,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 50,
      output_tokens: 5,
    });
  });

  it('gives unparsable tool arguments as an empty input', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"city": "Par' } };
    const message = chatResponseToMessages(completionWith({ tool_calls: [call] }, 'tool_calls'), { model: 'm' });
    expect(message['content']).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'f', input: {}, caller: { type: 'direct' } },
    ]);
  });
});

// ─── stream ──────────────────────────────────────────────────────────────────────────────────────

describe('createChatToMessagesStream', () => {
  it('streams text as one text block, with zero counts in message_start and the real usage in message_delta', () => {
    const events = clientEvents(translateFixture('text.sse'));
    expectWellFormed(events);
    const start = events[0]?.data['message'] as Json;
    expect(start).toMatchObject({
      id: 'msg_chatcmpl-BrT7uPZ9n1cLxQ2kV8wY4aHjD3sE',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    const pieces = ['Hello', '!', ' How', ' can', ' I', ' help', '?'];
    expect(outline(events)).toEqual([
      ['message_start'],
      ['content_block_start', 0, { type: 'text', text: '', citations: null }],
      ...pieces.map((text) => ['content_block_delta', 0, { type: 'text_delta', text }]),
      ['content_block_stop', 0],
      [
        'message_delta',
        { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
        {
          input_tokens: 86,
          cache_read_input_tokens: 1920,
          cache_creation_input_tokens: 0,
          output_tokens: 8,
          output_tokens_details: null,
          server_tool_use: null,
        },
      ],
      ['message_stop'],
    ]);
  });

  it('streams a tool call as a tool_use block fed by input_json_delta', () => {
    const events = clientEvents(translateFixture('tool-call.sse'));
    expectWellFormed(events);
    expect(outline(events).slice(1, -1)).toEqual([
      [
        'content_block_start',
        0,
        {
          type: 'tool_use',
          id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA',
          name: 'get_weather',
          input: {},
          caller: { type: 'direct' },
        },
      ],
      ...['{"', 'city', '":"', 'Paris', '"}'].map((partial_json) => [
        'content_block_delta',
        0,
        { type: 'input_json_delta', partial_json },
      ]),
      ['content_block_stop', 0],
      [
        'message_delta',
        { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
        expect.objectContaining({ input_tokens: 82, output_tokens: 17 }),
      ],
    ]);
  });

  it('closes the text block before the first tool block and gives each parallel call its own block', () => {
    const events = clientEvents(translateFixture('parallel-tool-calls.sse'));
    expectWellFormed(events);
    const blocks = events.filter((e) => e.event === 'content_block_start').map((e) => e.data['content_block']);
    expect(blocks).toEqual([
      { type: 'text', text: '', citations: null },
      expect.objectContaining({ type: 'tool_use', id: 'call_Ux5vK8bW2yFhQ1mR7nLpC3aZ', name: 'get_weather' }),
      expect.objectContaining({ type: 'tool_use', id: 'call_Hb2nT6qJ9xEw4cY8sZ1kV0rD', name: 'get_time' }),
    ]);
    const json = (index: number) =>
      events
        .filter((e) => e.event === 'content_block_delta' && e.data['index'] === index)
        .map((e) => (e.data['delta'] as Json)['partial_json'])
        .join('');
    expect(JSON.parse(json(1))).toEqual({ city: 'Paris' });
    expect(JSON.parse(json(2))).toEqual({ timezone: 'Europe/Paris' });
    expect(events.at(-2)?.data['usage']).toMatchObject({ input_tokens: 264, cache_read_input_tokens: 1024 });
  });

  it('streams reasoning_content as a thinking block before the text block', () => {
    const events = clientEvents(translateFixture('thinking.sse'));
    expectWellFormed(events);
    expect(outline(events).slice(1, -2)).toEqual([
      ['content_block_start', 0, { type: 'thinking', thinking: '', signature: '' }],
      ...['The user', ' asks for 9.11 vs 9.9.', ' 9.9 = 9.90 > 9.11.'].map((thinking) => [
        'content_block_delta',
        0,
        { type: 'thinking_delta', thinking },
      ]),
      ['content_block_stop', 0],
      ['content_block_start', 1, { type: 'text', text: '', citations: null }],
      ['content_block_delta', 1, { type: 'text_delta', text: '9.9' }],
      ['content_block_delta', 1, { type: 'text_delta', text: ' is larger.' }],
      ['content_block_stop', 1],
    ]);
    expect(events.at(-2)?.data['usage']).toEqual({
      input_tokens: 26,
      cache_read_input_tokens: 64,
      cache_creation_input_tokens: 0,
      output_tokens: 120,
      output_tokens_details: { thinking_tokens: 95 },
      server_tool_use: null,
    });
  });

  it('ignores what follows message_stop, [DONE] included', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    const events = sseEvents(fixture('thinking.sse'));
    const frames = events.map((event) => translator.push(event));
    // usage came on the finish chunk, so the message ended there and [DONE] adds nothing.
    expect(frames.at(-1)).toEqual([]);
    expect(clientEvents(frames.at(-2) ?? []).at(-1)?.event).toBe('message_stop');
    expect(translator.end()).toEqual([]);
    expect(translator.fail('api_error', 'late')).toEqual([]);
  });

  it('turns an upstream in-stream error into event: error and ends the stream', () => {
    const events = clientEvents(translateFixture('mid-stream-error.sse'));
    expect(outline(events)).toEqual([
      ['message_start'],
      ['content_block_start', 0, { type: 'text', text: '', citations: null }],
      ['content_block_delta', 0, { type: 'text_delta', text: 'Once upon' }],
      ['content_block_delta', 0, { type: 'text_delta', text: ' a time' }],
      ['content_block_delta', 0, { type: 'text_delta', text: ',' }],
      [
        'error',
        {
          type: 'api_error',
          message: 'The server had an error while processing your request. Sorry about that!',
        },
      ],
    ]);
  });

  it('closes open blocks and ends the message when the upstream stops without a finish reason', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    const cut = sseEvents(fixture('tool-call.sse')).slice(0, 3);
    const events = clientEvents([...cut.flatMap((event) => translator.push(event)), ...translator.end()]);
    expectWellFormed(events);
    expect(events.at(-2)?.data).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { input_tokens: null, output_tokens: 0 },
    });
  });

  it('finishes on [DONE] when the upstream sent no usage', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    const noUsage = sseEvents(fixture('text.sse')).filter((event) => !event.data || event.data['usage'] === null);
    const events = clientEvents(noUsage.flatMap((event) => translator.push(event)));
    expectWellFormed(events);
    expect(events.at(-2)?.data['delta']).toMatchObject({ stop_reason: 'end_turn' });
  });

  it('renders the gateway’s own failure as event: error', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    translator.push(sseEvents(fixture('text.sse'))[0] as UpstreamEvent);
    expect(clientEvents(translator.fail('api_error', 'Upstream connection failed'))).toEqual([
      { event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'Upstream connection failed' } } },
    ]);
    expect(translator.end()).toEqual([]);
  });

  it('fails the stream on data that is not JSON', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    const frames = translator.push({ data: undefined, raw: '{"id":"chatcmpl-x","choices":[{"delta":{"content":' });
    expect(clientEvents(frames)).toEqual([
      {
        event: 'error',
        data: {
          type: 'error',
          error: { type: 'api_error', message: 'The upstream sent a stream event that is not JSON' },
        },
      },
    ]);
  });

  it('opens a tool block only once the call has a name, keeping the arguments that came before', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    const chunk = (delta: Json, finish: string | null = null): UpstreamEvent => {
      const data = { id: 'chatcmpl-1', choices: [{ index: 0, delta, finish_reason: finish }] };
      return { data, raw: JSON.stringify(data) };
    };
    const frames = [
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: ':1}' } }] }),
      chunk({}, 'tool_calls'),
    ].flatMap((event) => translator.push(event));
    const events = clientEvents([...frames, ...translator.end()]);
    expectWellFormed(events);
    expect(outline(events).slice(1, 4)).toEqual([
      ['content_block_start', 0, { type: 'tool_use', id: 'call_1', name: 'f', input: {}, caller: { type: 'direct' } }],
      ['content_block_delta', 0, { type: 'input_json_delta', partial_json: '{"a":1}' }],
      ['content_block_stop', 0],
    ]);
  });

  it('treats a new call id under a reused index as a new call', () => {
    const translator = driven('chat', createChatToMessagesStream({ model: 'm' }));
    const chunk = (delta: Json): UpstreamEvent => {
      const data = { id: 'chatcmpl-1', choices: [{ index: 0, delta, finish_reason: null }] };
      return { data, raw: JSON.stringify(data) };
    };
    const frames = [
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'f', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_b', function: { name: 'g', arguments: '{}' } }] }),
    ].flatMap((event) => translator.push(event));
    const events = clientEvents([...frames, ...translator.end()]);
    expectWellFormed(events);
    const ids = events
      .filter((e) => e.event === 'content_block_start')
      .map((e) => (e.data['content_block'] as Json)['id']);
    expect(ids).toEqual(['call_a', 'call_b']);
  });
});

// ─── errors ──────────────────────────────────────────────────────────────────────────────────────

describe('openAIErrorToAnthropic', () => {
  const openAIBody = (type: string, message: string, code: string | null = null) =>
    JSON.stringify({ error: { message, type, param: null, code } });

  it.each([
    [400, openAIBody('invalid_request_error', 'Invalid request.'), 'invalid_request_error'],
    [
      401,
      openAIBody('invalid_request_error', 'Incorrect API key provided.', 'invalid_api_key'),
      'authentication_error',
    ],
    [403, openAIBody('invalid_request_error', 'You are not allowed to sample from this model'), 'permission_error'],
    [404, openAIBody('invalid_request_error', 'The model does not exist.', 'model_not_found'), 'not_found_error'],
    [429, openAIBody('requests', 'Rate limit reached for requests', 'rate_limit_exceeded'), 'rate_limit_error'],
    [500, openAIBody('server_error', 'The server had an error'), 'api_error'],
    [503, openAIBody('server_error', 'The engine is currently overloaded'), 'overloaded_error'],
    [529, openAIBody('server_error', 'Overloaded'), 'overloaded_error'],
    [418, openAIBody('teapot', 'odd'), 'invalid_request_error'],
    [507, openAIBody('server_error', 'odd'), 'api_error'],
  ])('renders an OpenAI %i as an Anthropic error with the status kept', (status, body, type) => {
    const translated = openAIErrorToAnthropic(status, body);
    expect(translated.status).toBe(status);
    const parsed = JSON.parse(translated.body) as Json;
    expect(parsed).toEqual({
      type: 'error',
      error: { type, message: (JSON.parse(body) as { error: { message: string } }).error.message },
      request_id: null,
    });
  });

  it('words a context-length error as Anthropic does, so Claude Code compacts', () => {
    const body = openAIBody(
      'invalid_request_error',
      "This model's maximum context length is 128000 tokens.",
      'context_length_exceeded',
    );
    const parsed = JSON.parse(openAIErrorToAnthropic(400, body).body) as { error: Json };
    expect(parsed.error['message']).toBe("prompt is too long: This model's maximum context length is 128000 tokens.");
  });

  it('keeps a body that is not JSON as the message', () => {
    const parsed = JSON.parse(openAIErrorToAnthropic(502, 'Bad Gateway').body) as { error: Json };
    expect(parsed.error).toEqual({ type: 'api_error', message: 'Bad Gateway' });
    const empty = JSON.parse(openAIErrorToAnthropic(500, '').body) as { error: Json };
    expect(empty.error).toEqual({ type: 'api_error', message: 'Upstream answered 500' });
  });
});

// ─── the real Anthropic SDK on the translated wire ───────────────────────────────────────────────

describe('the Anthropic SDK reading translated streams', () => {
  it('assembles the parallel tool calls with their inputs parsed', async () => {
    const client = clientAnsweredBy(translateFixture('parallel-tool-calls.sse'));
    const message = await client.messages.stream(streamParams).finalMessage();
    expect(message.content).toEqual([
      { type: 'text', text: 'I will check both.', citations: null },
      {
        type: 'tool_use',
        id: 'call_Ux5vK8bW2yFhQ1mR7nLpC3aZ',
        name: 'get_weather',
        input: { city: 'Paris' },
        caller: { type: 'direct' },
      },
      {
        type: 'tool_use',
        id: 'call_Hb2nT6qJ9xEw4cY8sZ1kV0rD',
        name: 'get_time',
        input: { timezone: 'Europe/Paris' },
        caller: { type: 'direct' },
      },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 264, cache_read_input_tokens: 1024, output_tokens: 56 });
  });

  it('assembles thinking then text, and takes the real usage from message_delta', async () => {
    const client = clientAnsweredBy(translateFixture('thinking.sse'));
    const message = await client.messages.stream(streamParams).finalMessage();
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The user asks for 9.11 vs 9.9. 9.9 = 9.90 > 9.11.', signature: '' },
      { type: 'text', text: '9.9 is larger.', citations: null },
    ]);
    expect(message.usage).toMatchObject({
      input_tokens: 26,
      cache_read_input_tokens: 64,
      cache_creation_input_tokens: 0,
      output_tokens: 120,
      output_tokens_details: { thinking_tokens: 95 },
    });
  });

  it('raises the in-stream error as an APIError of the translated type', async () => {
    const client = clientAnsweredBy(translateFixture('mid-stream-error.sse'));
    const error = await client.messages
      .stream(streamParams)
      .finalMessage()
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
  });
});

// ─── end to end: SDK → translation → fake OpenAI upstream → translation → SDK ───────────────────

/** A stand-in for the gateway's forwarding: Messages in, Chat to the upstream, Messages out. */
const startBridge = async (upstream: FakeUpstream): Promise<{ url: string; close: () => Promise<void> }> => {
  const readJson = async (req: IncomingMessage): Promise<Json> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      const model = String(body['model']);
      let chat: Json;
      try {
        chat = messagesRequestToChat(body, { upstreamModel: model });
      } catch (error) {
        const message = error instanceof Error ? error.message : 'invalid';
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } }));
        return;
      }
      const answer = await fetch(`${upstream.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-upstream' },
        body: JSON.stringify(chat),
      });
      if (!answer.ok) {
        const translated = openAIErrorToAnthropic(answer.status, await answer.text());
        res.writeHead(translated.status, { 'content-type': 'application/json' }).end(translated.body);
        return;
      }
      if (body['stream'] !== true) {
        const message = chatResponseToMessages((await answer.json()) as Json, { model });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(message));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const translator = driven('chat', createChatToMessagesStream({ model }));
      if (answer.body) for await (const frame of translateStream(answer.body, translator)) res.write(frame);
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
};

describe('an Anthropic SDK client calling an OpenAI Chat upstream through the translation', () => {
  let upstream: FakeUpstream;
  let bridge: { url: string; close: () => Promise<void> };
  let client: Anthropic;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ requireKey: 'sk-upstream' });
    bridge = await startBridge(upstream);
    client = new Anthropic({ baseURL: bridge.url, apiKey: 'sk-client', maxRetries: 0, timeout: 10_000 });
  });

  afterAll(async () => {
    await bridge.close();
    await upstream.close();
  });

  beforeEach(() => upstream.reset());

  const ask = (model: string) => ({
    model,
    max_tokens: 256,
    messages: [{ role: 'user' as const, content: 'hello there' }],
  });

  it('streams a text answer and sends the upstream a Chat request that reports usage', async () => {
    const message = await client.messages.stream(ask('fake-model')).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'fake reply to: hello there', citations: null }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 0 });
    expect(upstream.lastRequest?.body).toEqual({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'hello there' }],
      max_completion_tokens: 256,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('streams parallel tool calls the SDK parses', async () => {
    const message = await client.messages.stream(ask('parallel-tool-calls')).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(
      message.content.map((block) => (block.type === 'tool_use' ? [block.name, block.input] : block.type)),
    ).toEqual([
      ['get_weather', { city: 'Paris' }],
      ['get_time', { timezone: 'Europe/Paris' }],
    ]);
  });

  it('reports cache reads and writes apart from input tokens', async () => {
    const message = await client.messages.stream(ask('cached')).finalMessage();
    expect(message.usage).toMatchObject({
      input_tokens: 10,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 50,
      output_tokens: 20,
    });
  });

  it('answers a non-streamed request with a message', async () => {
    const message = await client.messages.create(ask('tool-call+max-tokens'));
    expect(message.content).toEqual([
      expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } }),
    ]);
    expect(message.stop_reason).toBe('max_tokens');
  });

  it('raises an upstream mid-stream error in the SDK', async () => {
    await expect(client.messages.stream(ask('error-mid-stream')).finalMessage()).rejects.toThrow(Anthropic.APIError);
  });

  it.each([
    [429, Anthropic.RateLimitError, 'rate_limit_error'],
    [401, Anthropic.AuthenticationError, 'authentication_error'],
    [529, Anthropic.InternalServerError, 'overloaded_error'],
  ])('maps an upstream %i to the SDK’s typed error', async (status, ErrorClass, type) => {
    const error = await client.messages.create(ask(`fail-${status}`)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ErrorClass);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe(type);
  });
});
