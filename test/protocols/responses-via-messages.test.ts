import OpenAI from 'openai';
import type { FunctionTool, ResponseInputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError, InvalidRequestError, renderError } from '../../lambdas/errors.ts';
import {
  anthropicErrorToResponses,
  createMessagesToResponsesStream,
  DROPPED_RESPONSES_FIELDS,
  messagesResponseToResponses,
  type ResponsesToMessagesOptions,
  responsesRequestToMessages,
} from '../../lambdas/protocols/translate/responses-via-messages.ts';
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

const fixture = (name: string): string => readFixture('responses-via-messages', name);

const REQUEST: Json = { model: 'my-claude', input: 'hello', stream: true };

const streamFixture = (name: string, request: Json = REQUEST): string[] =>
  atFixedTime(() =>
    translate(
      driven('messages', createMessagesToResponsesStream({ model: 'my-claude', request })),
      upstreamEvents(fixture(name)),
    ),
  );

interface ReadStream {
  events: Json[];
  /** `<sequence_number> <type>` per event. */
  sequence: string[];
  final: Json;
}

/**
 * Checks the frames as a strict Responses client would: every frame an `event:` line naming the
 * `data` type, sequence numbers 0, 1, 2…, created and in_progress first, each output item added once
 * at the next output index and done once (with the same id) before the final event, deltas only
 * inside their item, and the final event's response listing the same items.
 */
const readResponsesStream = (frames: string[]): ReadStream => {
  const events = frames.map((frame, index) => {
    const match = /^event: (\S+)\ndata: (.*)\n\n$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const data = JSON.parse(match?.[2] ?? '') as Json;
    expect(data['type']).toBe(match?.[1]);
    expect(data['sequence_number']).toBe(index);
    return data;
  });
  expect(events.slice(0, 2).map((event) => event['type'])).toEqual(['response.created', 'response.in_progress']);
  const final = events.at(-1) ?? {};
  expect(['response.completed', 'response.incomplete', 'response.failed']).toContain(final['type']);
  const added = new Map<number, string>();
  const done = new Map<number, Json>();
  for (const event of events.slice(2, -1)) {
    const index = event['output_index'] as number;
    if (event['type'] === 'response.output_item.added') {
      expect(index).toBe(added.size);
      added.set(index, (event['item'] as Json)['id'] as string);
    } else if (event['type'] === 'response.output_item.done') {
      expect(done.has(index)).toBe(false);
      expect((event['item'] as Json)['id']).toBe(added.get(index));
      done.set(index, event['item'] as Json);
    } else if (event['type'] !== 'error') {
      expect(added.has(index) && !done.has(index), `${event['type']} outside its item`).toBe(true);
      expect(event['item_id']).toBe(added.get(index));
    }
  }
  const response = final['response'] as Json;
  if (final['type'] !== 'response.failed') {
    expect(done.size).toBe(added.size);
    expect(response['output']).toEqual([...done.values()]);
  }
  return {
    events,
    sequence: events.map((event) => `${event['sequence_number']} ${event['type']}`),
    final: response,
  };
};

const eventsOf = (stream: ReadStream, type: string): Json[] => stream.events.filter((event) => event['type'] === type);

// ─── stream ──────────────────────────────────────────────────────────────────────────────────────

describe('createMessagesToResponsesStream', () => {
  it('streams a text answer as the exact Responses event sequence, ending with response.completed and usage', () => {
    const stream = readResponsesStream(streamFixture('text.sse'));

    expect(stream.sequence).toEqual([
      '0 response.created',
      '1 response.in_progress',
      '2 response.output_item.added',
      '3 response.content_part.added',
      '4 response.output_text.delta',
      '5 response.output_text.delta',
      '6 response.output_text.delta',
      '7 response.output_text.done',
      '8 response.content_part.done',
      '9 response.output_item.done',
      '10 response.completed',
    ]);
    expect(eventsOf(stream, 'response.output_text.delta').map((event) => event['delta'])).toEqual([
      'Hello',
      '! How can I',
      ' help you today?',
    ]);
    expect(stream.events[2]).toEqual({
      type: 'response.output_item.added',
      output_index: 0,
      item: {
        id: 'msg_01XFDUDYJgAACzvnptvVoYEL_0',
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      },
      sequence_number: 2,
    });
    expect(stream.final).toMatchObject({
      id: 'resp_01XFDUDYJgAACzvnptvVoYEL',
      object: 'response',
      status: 'completed',
      model: 'my-claude',
      created_at: 1_750_000_000,
      output: [
        {
          id: 'msg_01XFDUDYJgAACzvnptvVoYEL_0',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello! How can I help you today?', annotations: [], logprobs: [] }],
        },
      ],
      // input_tokens counts cache reads and writes (OpenAI's meaning); cached_tokens is the reads.
      usage: {
        input_tokens: 25 + 1200 + 300,
        input_tokens_details: { cached_tokens: 1200, cache_write_tokens: 300 },
        output_tokens: 15,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 1525 + 15,
      },
    });
  });

  it('sends the same response id and no usage in response.created and response.in_progress', () => {
    const stream = readResponsesStream(streamFixture('text.sse'));
    const [created, inProgress] = stream.events.map((event) => event['response'] as Json);

    expect(created).toMatchObject({ id: 'resp_01XFDUDYJgAACzvnptvVoYEL', status: 'in_progress', output: [] });
    expect(inProgress).toEqual(created);
    expect(created?.['usage']).toBeUndefined();
  });

  it('streams text then a function call: the call as its own item with call_id, name and argument deltas', () => {
    const stream = readResponsesStream(streamFixture('tool-call.sse'));

    // 13 text deltas; 9 argument deltas upstream, of which the first is empty and sends nothing.
    const types = [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(13).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      ...Array<string>(8).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ];
    expect(stream.sequence).toEqual(types.map((type, index) => `${index} ${type}`));
    const [added] = eventsOf(stream, 'response.output_item.added').slice(1);
    expect(added).toMatchObject({
      output_index: 1,
      item: {
        id: 'fc_014p7gG3wDgGV9EUtLvnow3U_1',
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
        name: 'get_weather',
      },
    });
    const deltas = eventsOf(stream, 'response.function_call_arguments.delta')
      .map((event) => event['delta'])
      .join('');
    const [argumentsDone] = eventsOf(stream, 'response.function_call_arguments.done');
    expect(argumentsDone?.['arguments']).toBe(deltas);
    expect(JSON.parse(deltas)).toEqual({ location: 'San Francisco, CA', unit: 'fahrenheit' });
    expect((stream.final['output'] as Json[]).map((item) => [item['type'], item['status']])).toEqual([
      ['message', 'completed'],
      ['function_call', 'completed'],
    ]);
    expect(stream.final['usage']).toMatchObject({ input_tokens: 472, output_tokens: 89, total_tokens: 561 });
  });

  it('streams parallel tool calls as two function_call items, in block order, each with its own arguments', () => {
    const stream = readResponsesStream(streamFixture('parallel-tool-calls.sse'));

    expect(stream.sequence).toEqual([
      '0 response.created',
      '1 response.in_progress',
      '2 response.output_item.added',
      '3 response.function_call_arguments.delta',
      '4 response.function_call_arguments.delta',
      '5 response.function_call_arguments.done',
      '6 response.output_item.done',
      '7 response.output_item.added',
      '8 response.function_call_arguments.delta',
      '9 response.function_call_arguments.delta',
      '10 response.function_call_arguments.done',
      '11 response.output_item.done',
      '12 response.completed',
    ]);
    expect(
      (stream.final['output'] as Json[]).map((item) => [
        item['call_id'],
        item['name'],
        JSON.parse(item['arguments'] as string),
      ]),
    ).toEqual([
      ['toolu_01A09q90qw90lq917835lq9', 'get_weather', { city: 'Paris' }],
      ['toolu_01B7fYqm3yyT2nLUqCw2Lk4Z', 'get_time', { timezone: 'Europe/Paris' }],
    ]);
  });

  it('streams thinking as a reasoning item with summary events, and carries the signed block in encrypted_content', () => {
    const stream = readResponsesStream(streamFixture('thinking.sse'));
    const thinking =
      'I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\n\nSo GCD(1071, 462) = 21';

    expect(stream.sequence).toEqual([
      '0 response.created',
      '1 response.in_progress',
      '2 response.output_item.added',
      '3 response.reasoning_summary_part.added',
      '4 response.reasoning_summary_text.delta',
      '5 response.reasoning_summary_text.delta',
      '6 response.reasoning_summary_text.delta',
      '7 response.reasoning_summary_text.done',
      '8 response.reasoning_summary_part.done',
      '9 response.output_item.done',
      '10 response.output_item.added',
      '11 response.content_part.added',
      '12 response.output_text.delta',
      '13 response.output_text.done',
      '14 response.content_part.done',
      '15 response.output_item.done',
      '16 response.completed',
    ]);
    const [reasoning, message] = stream.final['output'] as Json[];
    expect(reasoning).toMatchObject({
      id: 'rs_01QL7JyqvZ6CTckpWB3BtPXG_0',
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: thinking }],
    });
    const encrypted = String(reasoning?.['encrypted_content']);
    expect(JSON.parse(Buffer.from(encrypted.replace('tollgate.thinking.v1.', ''), 'base64').toString('utf8'))).toEqual({
      type: 'thinking',
      thinking,
      signature:
        'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds6LIEImB4cvsQxCuvjBGwJrsGvnbyWRZQ+kKkLRZNiBdoBSDpBvj2FAF3Rr5MhoI',
    });
    expect(message).toMatchObject({ content: [{ text: 'The greatest common divisor of 1071 and 462 is **21**.' }] });
    expect(stream.final['usage']).toMatchObject({
      output_tokens: 196,
      output_tokens_details: { reasoning_tokens: 142 },
    });
  });

  it('streams thinking then a tool call: the reasoning item is done before the function_call item is added', () => {
    const stream = readResponsesStream(streamFixture('thinking-tool-call.sse'));

    expect(stream.sequence).toEqual([
      '0 response.created',
      '1 response.in_progress',
      '2 response.output_item.added',
      '3 response.reasoning_summary_part.added',
      '4 response.reasoning_summary_text.delta',
      '5 response.reasoning_summary_text.delta',
      '6 response.reasoning_summary_text.done',
      '7 response.reasoning_summary_part.done',
      '8 response.output_item.done',
      '9 response.output_item.added',
      '10 response.function_call_arguments.delta',
      '11 response.function_call_arguments.delta',
      '12 response.function_call_arguments.done',
      '13 response.output_item.done',
      '14 response.completed',
    ]);
    expect((stream.final['output'] as Json[]).map((item) => [item['id'], item['type']])).toEqual([
      ['rs_01Ww7hXc5HtYhG1kYQcJ3Ftq_0', 'reasoning'],
      ['fc_01Ww7hXc5HtYhG1kYQcJ3Ftq_1', 'function_call'],
    ]);
    expect(stream.final['usage']).toMatchObject({
      input_tokens: 512,
      output_tokens: 88,
      output_tokens_details: { reasoning_tokens: 41 },
    });
  });

  it('ends a max-tokens stop with response.incomplete, the last item incomplete and incomplete_details set', () => {
    const stream = readResponsesStream(streamFixture('max-tokens.sse', { ...REQUEST, max_output_tokens: 8 }));

    expect(stream.sequence.slice(-2)).toEqual(['7 response.output_item.done', '8 response.incomplete']);
    expect(stream.final).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      completed_at: null,
      max_output_tokens: 8,
      output: [{ type: 'message', status: 'incomplete', content: [{ text: 'Once upon a time, in a' }] }],
      usage: { input_tokens: 18, output_tokens: 8 },
    });
  });

  it('turns an upstream error event into an error event, then response.failed, and ends there', () => {
    const translator = driven('messages', createMessagesToResponsesStream({ model: 'my-claude', request: REQUEST }));
    const stream = readResponsesStream(translate(translator, upstreamEvents(fixture('error-mid-stream.sse'))));

    expect(stream.sequence).toEqual([
      '0 response.created',
      '1 response.in_progress',
      '2 response.output_item.added',
      '3 response.content_part.added',
      '4 response.output_text.delta',
      '5 error',
      '6 response.failed',
    ]);
    expect(stream.events[5]).toEqual({
      type: 'error',
      code: 'overloaded_error',
      message: 'Overloaded',
      param: null,
      sequence_number: 5,
    });
    expect(stream.final).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message: 'Overloaded', type: 'overloaded_error' },
      output: [{ type: 'message', status: 'incomplete', content: [{ text: 'Once upon' }] }],
      usage: { input_tokens: 40, output_tokens: 1 },
    });
    expect(translator.push({ event: 'message_stop', data: { type: 'message_stop' }, raw: '' })).toEqual([]);
    expect(translator.fail('api_error', 'again')).toEqual([]);
    expect(translator.end()).toEqual([]);
  });

  it('renders a failure reported by the gateway (fail) as error then response.failed, once', () => {
    const translator = driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST }));
    for (const event of upstreamEvents(fixture('text.sse')).slice(0, 4)) translator.push(event);
    const frames = translator
      .fail('api_error', 'Upstream connection failed mid-stream')
      .map((frame) => new TextDecoder().decode(frame));

    expect(frames.map((frame) => JSON.parse(frame.split('\ndata: ')[1] ?? '').type)).toEqual([
      'error',
      'response.failed',
    ]);
    expect(frames[0]).toBe(
      'event: error\ndata: {"type":"error","code":"api_error","message":"Upstream connection failed mid-stream","param":null,"sequence_number":5}\n\n',
    );
    expect(translator.end()).toEqual([]);
  });

  it('finishes a stream cut right after message_delta, and fails one cut earlier', () => {
    const events = upstreamEvents(fixture('text.sse'));
    const cutAfterDelta = readResponsesStream(
      translate(
        driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST })),
        events.slice(0, -1),
      ),
    );
    const cutEarly = readResponsesStream(
      translate(
        driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST })),
        events.slice(0, 5),
      ),
    );

    expect(cutAfterDelta.final['status']).toBe('completed');
    expect(cutEarly.final).toMatchObject({
      status: 'failed',
      error: { message: 'Upstream stream ended before the response was complete' },
    });
  });

  it('answers a failure before any upstream event with created, in_progress, error and response.failed', () => {
    const translator = driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST }));
    const stream = readResponsesStream(
      translate(
        translator,
        upstreamEvents('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"boom"}}\n\n'),
      ),
    );

    expect(stream.sequence).toEqual(['0 response.created', '1 response.in_progress', '2 error', '3 response.failed']);
    expect(stream.final['id']).toMatch(/^resp_/);
  });

  it('uses tool input sent whole in content_block_start, and sends {} for a call without arguments', () => {
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{"tz":"UTC"}}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"ping","input":{}}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    const stream = readResponsesStream(
      translate(
        driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST })),
        upstreamEvents(sse),
      ),
    );

    expect(eventsOf(stream, 'response.function_call_arguments.delta').map((event) => event['delta'])).toEqual([
      '{"tz":"UTC"}',
      '{}',
    ]);
    expect((stream.final['output'] as Json[]).map((item) => item['arguments'])).toEqual(['{"tz":"UTC"}', '{}']);
  });

  it('streams a redacted_thinking block as a reasoning item without summary, its data in encrypted_content', () => {
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_r","usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    const stream = readResponsesStream(
      translate(
        driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST })),
        upstreamEvents(sse),
      ),
    );
    const [item] = stream.final['output'] as Json[];

    expect(stream.sequence).toEqual([
      '0 response.created',
      '1 response.in_progress',
      '2 response.output_item.added',
      '3 response.output_item.done',
      '4 response.completed',
    ]);
    expect(item).toMatchObject({ id: 'rs_r_0', type: 'reasoning', summary: [] });
    // …and it goes back to Anthropic verbatim on the next turn.
    const next = translated({
      reasoning: { effort: 'low' },
      input: [user('Hi'), item, { role: 'assistant', content: 'Hello' }, user('Again')],
    });
    expect((next['messages'] as Json[])[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
        { type: 'text', text: 'Hello' },
      ],
    });
  });

  it('sends nothing for ping events', () => {
    const translator = driven('messages', createMessagesToResponsesStream({ model: 'm', request: REQUEST }));
    const [start] = upstreamEvents(fixture('text.sse'));
    translator.push(start as UpstreamEvent);

    expect(translator.push({ event: 'ping', data: { type: 'ping' }, raw: '{"type": "ping"}' })).toEqual([]);
  });
});

// ─── response ────────────────────────────────────────────────────────────────────────────────────

/** Every field `Response` in `openai/resources/responses/responses.d.ts` requires (output_text is the SDK's own). */
const REQUIRED_RESPONSE_FIELDS = [
  'id',
  'access_programs',
  'created_at',
  'error',
  'incomplete_details',
  'instructions',
  'metadata',
  'model',
  'object',
  'output',
  'parallel_tool_calls',
  'temperature',
  'tool_choice',
  'tools',
  'top_p',
];

describe('messagesResponseToResponses', () => {
  it('maps thinking, text and tool_use blocks to reasoning, message and function_call items with cache-aware usage', () => {
    const message = JSON.parse(fixture('message.json')) as Json;
    const response = atFixedTime(() =>
      messagesResponseToResponses(message, {
        model: 'my-claude',
        request: { model: 'my-claude', input: 'Weather in Paris?', instructions: 'Be brief.', max_output_tokens: 800 },
      }),
    );

    for (const field of REQUIRED_RESPONSE_FIELDS) expect(Object.hasOwn(response, field), field).toBe(true);
    expect(response).toMatchObject({
      id: 'resp_01JbQBNwN1ZPoyqdYnhjv9qQ',
      object: 'response',
      created_at: 1_750_000_000,
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: 'Be brief.',
      max_output_tokens: 800,
      model: 'my-claude',
      store: false,
      tool_choice: 'auto',
      tools: [],
      output: [
        {
          id: 'rs_01JbQBNwN1ZPoyqdYnhjv9qQ_0',
          type: 'reasoning',
          summary: [{ type: 'summary_text', text: 'The user wants the weather in Paris; I should call get_weather.' }],
          encrypted_content: expect.stringMatching(/^tollgate\.thinking\.v1\./),
        },
        {
          id: 'msg_01JbQBNwN1ZPoyqdYnhjv9qQ_1',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Let me check the weather in Paris.', annotations: [], logprobs: [] }],
        },
        {
          id: 'fc_01JbQBNwN1ZPoyqdYnhjv9qQ_2',
          type: 'function_call',
          status: 'completed',
          call_id: 'toolu_01D7FLrfh4GYq7yT1ULFeyMV',
          name: 'get_weather',
          arguments: '{"city":"Paris","unit":"celsius"}',
        },
      ],
      usage: {
        input_tokens: 320 + 4096 + 2048,
        input_tokens_details: { cached_tokens: 4096, cache_write_tokens: 2048 },
        output_tokens: 96,
        output_tokens_details: { reasoning_tokens: 31 },
        total_tokens: 6464 + 96,
      },
    });
  });

  it('answers status incomplete with incomplete_details for a max_tokens stop', () => {
    const response = messagesResponseToResponses(
      { id: 'msg_2', content: [{ type: 'text', text: 'Once upon' }], stop_reason: 'max_tokens' },
      { model: 'm', request: {} },
    );

    expect(response).toMatchObject({
      status: 'incomplete',
      completed_at: null,
      incomplete_details: { reason: 'max_output_tokens' },
      output: [{ type: 'message', status: 'incomplete' }],
    });
    expect(response['usage']).toBeUndefined();
  });

  it('echoes the request settings the client sent', () => {
    const tools = [{ type: 'function', name: 'f', parameters: null, strict: false }];
    const response = messagesResponseToResponses(
      { id: 'msg_3', content: [], stop_reason: 'end_turn' },
      {
        model: 'm',
        request: {
          tools,
          tool_choice: 'required',
          parallel_tool_calls: false,
          temperature: 0.2,
          top_p: 0.9,
          reasoning: { effort: 'high', summary: 'auto' },
          text: { format: { type: 'text' }, verbosity: 'low' },
          metadata: { team: 'a' },
          user: 'u1',
          safety_identifier: 's1',
        },
      },
    );

    expect(response).toMatchObject({
      tools,
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0.2,
      top_p: 0.9,
      reasoning: { effort: 'high', summary: 'auto' },
      text: { verbosity: 'low' },
      metadata: { team: 'a' },
      user: 'u1',
      safety_identifier: 's1',
    });
  });

  it('leaves encrypted_content out of a reasoning item whose thinking block is unsigned', () => {
    const response = messagesResponseToResponses(
      { id: 'msg_4', content: [{ type: 'thinking', thinking: 'hmm', signature: '' }], stop_reason: 'end_turn' },
      { model: 'm', request: {} },
    );

    expect(response['output']).toEqual([
      { id: 'rs_4_0', type: 'reasoning', summary: [{ type: 'summary_text', text: 'hmm' }] },
    ]);
  });
});

// ─── request ─────────────────────────────────────────────────────────────────────────────────────

const OPTIONS: ResponsesToMessagesOptions = { upstreamModel: 'claude-sonnet-4-6', defaultMaxTokens: 4096 };
const translated = (body: Json, options: Partial<ResponsesToMessagesOptions> = {}): Json =>
  responsesRequestToMessages({ model: 'my-claude', ...body }, { ...OPTIONS, ...options });
const user = (content: unknown) => ({ role: 'user', content });
const hi = [user('Hi')];

const WEATHER: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const TIME: FunctionTool = { type: 'function', name: 'get_time', parameters: null, strict: null };

/** A reasoning item as Tollgate writes it, carrying a signed thinking block. */
const signedReasoning = (thinking: string, signature: string) => ({
  type: 'reasoning',
  id: 'rs_1',
  summary: [{ type: 'summary_text', text: thinking }],
  encrypted_content: `tollgate.thinking.v1.${Buffer.from(JSON.stringify({ type: 'thinking', thinking, signature })).toString('base64')}`,
});

interface RequestCase {
  name: string;
  body: Json;
  options?: Partial<ResponsesToMessagesOptions>;
  expected: Json;
}

describe('responsesRequestToMessages', () => {
  const cases: RequestCase[] = [
    {
      name: 'turns a string input into one user turn, with the default max_tokens',
      body: { input: 'Hi there' },
      expected: {
        model: 'claude-sonnet-4-6',
        max_tokens: 4096,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi there' }] }],
      },
    },
    {
      name: 'uses max_output_tokens as max_tokens and passes stream',
      body: { input: 'Hi', max_output_tokens: 300, stream: true },
      expected: { max_tokens: 300, stream: true },
    },
    {
      name: 'puts instructions, then system and developer items, into the system prompt, in order',
      body: {
        instructions: 'You are terse.',
        input: [
          { role: 'developer', content: [{ type: 'input_text', text: 'Answer in French.' }] },
          user('Hi'),
          { type: 'message', role: 'system', content: 'No emoji.' },
        ],
      },
      expected: {
        system: [
          { type: 'text', text: 'You are terse.' },
          { type: 'text', text: 'Answer in French.' },
          { type: 'text', text: 'No emoji.' },
        ],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      },
    },
    {
      name: 'keeps a multi-turn conversation (output_text assistant items) and merges adjacent same-role items',
      body: {
        input: [
          user('Hi'),
          {
            type: 'message',
            id: 'msg_1',
            role: 'assistant',
            status: 'completed',
            phase: 'final_answer',
            content: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
          },
          user([{ type: 'input_text', text: 'Two things:' }]),
          user([
            { type: 'input_text', text: 'first' },
            { type: 'input_text', text: '   ' },
          ]),
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
      name: 'turns input_image URLs into url sources and data URLs into base64 sources',
      body: {
        input: [
          user([
            { type: 'input_text', text: 'Compare' },
            { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'high' },
            { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/4AAQ', detail: 'auto' },
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
      name: 'sends input_file PDFs (inline or by URL) as document blocks',
      body: {
        input: [
          user([
            { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' },
            { type: 'input_file', file_url: 'https://example.com/b.pdf' },
          ]),
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
              { type: 'document', source: { type: 'url', url: 'https://example.com/b.pdf' } },
            ],
          },
        ],
      },
    },
    {
      name: 'turns prompt_cache_breakpoint on a part into a cache_control breakpoint',
      body: {
        input: [user([{ type: 'input_text', text: 'Long context', prompt_cache_breakpoint: { mode: 'explicit' } }])],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Long context', cache_control: { type: 'ephemeral' } }] },
        ],
      },
    },
    {
      name: 'translates function tools (strict dropped) and tool_choice auto',
      body: { input: hi, tools: [WEATHER], tool_choice: 'auto' },
      expected: { tools: [WEATHER_TOOL], tool_choice: { type: 'auto' } },
    },
    {
      name: 'translates tool_choice required to any',
      body: { input: hi, tools: [WEATHER], tool_choice: 'required' },
      expected: { tool_choice: { type: 'any' } },
    },
    {
      name: 'translates tool_choice none',
      body: { input: hi, tools: [WEATHER], tool_choice: 'none' },
      expected: { tool_choice: { type: 'none' } },
    },
    {
      name: 'translates a named function tool_choice to type tool',
      body: { input: hi, tools: [WEATHER, TIME], tool_choice: { type: 'function', name: 'get_time' } },
      expected: {
        tools: [WEATHER_TOOL, { name: 'get_time', input_schema: { type: 'object', properties: {} } }],
        tool_choice: { type: 'tool', name: 'get_time' },
      },
    },
    {
      name: 'offers only the allowed tools for tool_choice allowed_tools',
      body: {
        input: hi,
        tools: [WEATHER, TIME],
        tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'get_weather' }] },
      },
      expected: { tools: [WEATHER_TOOL], tool_choice: { type: 'any' } },
    },
    {
      name: 'translates parallel_tool_calls: false to disable_parallel_tool_use',
      body: { input: hi, tools: [WEATHER], parallel_tool_calls: false },
      expected: { tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
    },
    {
      name: 'sends no tool_choice without tools',
      body: { input: hi, tools: [], tool_choice: 'required' },
      expected: { tool_choice: undefined, tools: undefined },
    },
    {
      name: 'translates a two-turn function-call conversation: calls into one assistant turn, outputs into one user turn',
      body: {
        tools: [WEATHER, TIME],
        input: [
          user('Weather and time in Paris?'),
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking both.' }] },
          {
            type: 'function_call',
            id: 'fc_1',
            call_id: 'call_1',
            name: 'get_weather',
            arguments: '{"city":"Paris"}',
            status: 'completed',
          },
          { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '' },
          { type: 'function_call_output', call_id: 'call_1', output: '18°C, sunny' },
          { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: '14:05' }] },
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
      name: 'makes foreign call ids fit Anthropic tool ids, the same way on the call and its output',
      body: {
        input: [
          user('Go'),
          { type: 'function_call', call_id: 'call:1.a', name: 'f', arguments: '{}' },
          {
            type: 'function_call_output',
            call_id: 'call:1.a',
            output: [
              { type: 'input_text', text: 'see' },
              { type: 'input_image', image_url: 'https://example.com/c.png', detail: 'auto' },
            ],
          },
        ],
      },
      expected: {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Go' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1_a', name: 'f', input: {} }] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'call_1_a',
                content: [
                  { type: 'text', text: 'see' },
                  { type: 'image', source: { type: 'url', url: 'https://example.com/c.png' } },
                ],
              },
            ],
          },
        ],
      },
    },
    {
      name: 'maps reasoning.effort to a thinking budget and drops sampling parameters while thinking',
      body: {
        input: hi,
        reasoning: { effort: 'medium', summary: 'auto' },
        max_output_tokens: 20_000,
        temperature: 0.3,
      },
      expected: { thinking: { type: 'enabled', budget_tokens: 8192 }, temperature: undefined, max_tokens: 20_000 },
    },
    {
      name: 'caps the thinking budget at max_tokens − 1024',
      body: { input: hi, reasoning: { effort: 'high' }, max_output_tokens: 4096 },
      expected: { thinking: { type: 'enabled', budget_tokens: 3072 } },
    },
    {
      name: 'sends no thinking for effort none, or when max_tokens leaves no room for the 1024-token minimum',
      body: { input: hi, reasoning: { effort: 'low' }, max_output_tokens: 1500 },
      expected: { thinking: undefined },
    },
    {
      name: 'uses adaptive thinking with output_config.effort on adaptive-only models, without sampling parameters',
      body: { input: hi, reasoning: { effort: 'xhigh' }, temperature: 0.5 },
      options: { upstreamModel: 'claude-opus-4-7' },
      expected: { thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' }, temperature: undefined },
    },
    {
      name: 'restores the signed thinking block of a reasoning item at the start of its assistant turn',
      body: {
        tools: [WEATHER],
        reasoning: { effort: 'low' },
        input: [
          user('Weather in Paris?'),
          signedReasoning('I should call get_weather.', 'sig-1'),
          { type: 'function_call', call_id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'toolu_1', output: '18°C' },
        ],
      },
      expected: {
        thinking: { type: 'enabled', budget_tokens: 3072 },
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'I should call get_weather.', signature: 'sig-1' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' }] },
        ],
      },
    },
    {
      name: 'leaves thinking off when a tool loop continues without its signed thinking block',
      body: {
        tools: [WEATHER],
        reasoning: { effort: 'high' },
        input: [
          user('Weather in Paris?'),
          {
            type: 'reasoning',
            id: 'rs_x',
            summary: [{ type: 'summary_text', text: 'unsigned' }],
            encrypted_content: 'gAAAA-openai',
          },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_1', output: '18°C' },
        ],
      },
      expected: {
        thinking: undefined,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18°C' }] },
        ],
      },
    },
    {
      name: 'leaves restored thinking blocks out when the request does not think',
      body: {
        input: [
          user('Hi'),
          signedReasoning('greet back', 'sig-2'),
          { role: 'assistant', content: 'Hello!' },
          user('Bye'),
        ],
      },
      expected: {
        thinking: undefined,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
          { role: 'user', content: [{ type: 'text', text: 'Bye' }] },
        ],
      },
    },
    {
      name: 'leaves thinking off with a forced tool choice',
      body: { input: hi, tools: [WEATHER], tool_choice: 'required', reasoning: { effort: 'high' } },
      expected: { thinking: undefined, tool_choice: { type: 'any' } },
    },
    {
      name: 'clamps temperature to Anthropic’s [0, 1] and prefers it over top_p',
      body: { input: hi, temperature: 1.7, top_p: 0.5 },
      expected: { temperature: 1, top_p: undefined },
    },
    {
      name: 'passes top_p alone',
      body: { input: hi, top_p: 0.5 },
      expected: { top_p: 0.5, temperature: undefined },
    },
    {
      name: 'maps text.format json_schema to output_config.format',
      body: {
        input: hi,
        text: { format: { type: 'json_schema', name: 'answer', strict: true, schema: { type: 'object' } } },
      },
      expected: { output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } },
    },
    {
      name: 'sends safety_identifier (else user) as metadata.user_id, and never OpenAI metadata',
      body: { input: hi, safety_identifier: 'hash-1', user: 'u', metadata: { team: 'a' } },
      expected: { metadata: { user_id: 'hash-1' } },
    },
    {
      name: 'drops what Anthropic has no field for',
      body: {
        input: hi,
        store: false,
        include: ['reasoning.encrypted_content'],
        prompt_cache_key: 'k',
        service_tier: 'auto',
        truncation: 'auto',
        text: { verbosity: 'low' },
      },
      expected: {
        model: 'claude-sonnet-4-6',
        max_tokens: 4096,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      },
    },
  ];

  it.each(cases)('$name', ({ body, options, expected }) => {
    const result = translated(body, options);
    const keys = Object.keys(expected);
    const picked = Object.fromEntries(keys.map((key) => [key, result[key]]));

    if (keys.includes('model') && keys.includes('messages') && keys.includes('max_tokens')) {
      expect(result).toEqual(expected);
    } else {
      expect(picked).toEqual(expected);
    }
  });

  it('drops every top-level field its documented drop rules name', () => {
    const named = Object.keys(DROPPED_RESPONSES_FIELDS).filter((field) => /^\w+$/.test(field));
    const body = translated({ input: hi, ...Object.fromEntries(named.map((field) => [field, 'x'])) });

    expect(named).toContain('truncation');
    expect(named.filter((field) => Object.hasOwn(body, field))).toEqual([]);
  });

  const refusals: [string, Json, string, RegExp][] = [
    [
      'previous_response_id',
      { input: hi, previous_response_id: 'resp_1' },
      'previous_response_id',
      /OpenAI-protocol routes/,
    ],
    ['conversation', { input: hi, conversation: 'conv_1' }, 'conversation', /OpenAI-protocol routes/],
    ['store: true', { input: hi, store: true }, 'store', /store: false/],
    ['background', { input: hi, background: true }, 'background', /OpenAI-protocol routes/],
    ['a stored prompt template', { prompt: { id: 'pmpt_1' } }, 'prompt', /OpenAI-protocol routes/],
    [
      'web_search',
      { input: hi, tools: [{ type: 'web_search' }] },
      'tools[0]',
      /'web_search' tools.*OpenAI-protocol routes/,
    ],
    [
      'file_search',
      { input: hi, tools: [WEATHER, { type: 'file_search', vector_store_ids: ['vs_1'] }] },
      'tools[1]',
      /file_search/,
    ],
    ['computer use', { input: hi, tools: [{ type: 'computer_use_preview' }] }, 'tools[0]', /computer_use_preview/],
    ['a custom tool', { input: hi, tools: [{ type: 'custom', name: 'apply_patch' }] }, 'tools[0]', /custom/],
    [
      'a built-in tool_choice',
      { input: hi, tools: [WEATHER], tool_choice: { type: 'file_search' } },
      'tool_choice',
      /file_search/,
    ],
    ['item_reference', { input: [user('Hi'), { type: 'item_reference', id: 'msg_1' }] }, 'input[1]', /item_reference/],
    [
      'a web_search_call item',
      { input: [user('Hi'), { type: 'web_search_call', id: 'ws_1', status: 'completed' }] },
      'input[1]',
      /web_search_call/,
    ],
    [
      'a computer_call_output item',
      { input: [{ type: 'computer_call_output', call_id: 'c', output: {} }] },
      'input[0]',
      /computer_call_output/,
    ],
    ['logprobs', { input: hi, include: ['message.output_text.logprobs'] }, 'include', /logprobs/],
    [
      'top_logprobs',
      { input: hi, top_logprobs: 3, include: ['reasoning.encrypted_content'] },
      'top_logprobs',
      /logprobs/,
    ],
    [
      'an image file_id',
      { input: [user([{ type: 'input_image', file_id: 'file-1', detail: 'auto' }])] },
      'input[0].content[0]',
      /file_id/,
    ],
    [
      'an unsupported image type',
      { input: [user([{ type: 'input_image', image_url: 'data:image/bmp;base64,Qk0=' }])] },
      'input[0].content[0]',
      /bmp/,
    ],
    [
      'function_call arguments that are not JSON',
      { input: [user('Go'), { type: 'function_call', call_id: 'c', name: 'f', arguments: '{oops' }] },
      'input[1]',
      /not valid JSON/,
    ],
    ['an unknown reasoning effort', { input: hi, reasoning: { effort: 'extreme' } }, 'reasoning.effort', /extreme/],
    ['only instructions', { instructions: 'x', input: [] }, 'input', /at least one/],
    ['no input at all', {}, 'input', /at least one/],
    ['an unknown role', { input: [{ role: 'tool', content: 'x' }] }, 'input[0].role', /tool/],
  ];

  it.each(refusals)('refuses %s with a 400 invalid_request_error naming the field', (_, body, param, message) => {
    let thrown: unknown;
    try {
      translated(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidRequestError);
    expect(thrown).toMatchObject({ status: 400, type: 'invalid_request_error', param });
    expect((thrown as Error).message).toMatch(message);
  });
});

// ─── errors ──────────────────────────────────────────────────────────────────────────────────────

describe('anthropicErrorToResponses', () => {
  it.each([
    [529, 'overloaded_error', 'Overloaded'],
    [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'],
    [400, 'invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'],
  ])('renders HTTP %i in the OpenAI error envelope with its status kept', (status, type, message) => {
    const body = JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_1' });
    const error = anthropicErrorToResponses(status, body);

    expect(error.status).toBe(status);
    expect(JSON.parse(error.body)).toEqual({ error: { message, type, param: null, code: null } });
  });
});

// ─── the real OpenAI SDK over translated answers ─────────────────────────────────────────────────

/**
 * The forwarding path of this direction in miniature: the OpenAI SDK's Responses request is
 * translated (a refusal rendered as the gateway does), sent to the fake Anthropic upstream on
 * 127.0.0.1 (or answered from a recorded fixture when the model is `fixture:<file>`), and the answer
 * is translated back into what the SDK parses.
 */
const translatingFetch =
  (upstream: FakeUpstream): typeof fetch =>
  async (_input, init) => {
    const request = JSON.parse(String(init?.body)) as Json;
    const model = String(request['model']);
    const sse = (body: ReadableStream<Uint8Array>) =>
      new Response(translateStream(body, driven('messages', createMessagesToResponsesStream({ model, request }))), {
        headers: { 'content-type': 'text/event-stream' },
      });

    if (model.startsWith('fixture:')) return sse(new Blob([fixture(model.slice('fixture:'.length))]).stream());
    let messages: Json;
    try {
      messages = responsesRequestToMessages(request, { upstreamModel: model, defaultMaxTokens: 1024 });
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      const rendered = renderError(error, 'openai');
      return new Response(rendered.body, { status: rendered.statusCode, headers: rendered.headers });
    }
    const response = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(messages),
    });
    if (!response.ok) {
      const error = anthropicErrorToResponses(response.status, await response.text());
      return new Response(error.body, { status: error.status, headers: { 'content-type': 'application/json' } });
    }
    if (messages['stream'] === true && response.body) return sse(response.body);
    return Response.json(messagesResponseToResponses((await response.json()) as Json, { model, request }));
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

  const strictTools: FunctionTool[] = [
    {
      type: 'function',
      name: 'get_weather',
      strict: true,
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
        additionalProperties: false,
      },
    },
    {
      type: 'function',
      name: 'get_time',
      strict: true,
      parameters: {
        type: 'object',
        properties: { timezone: { type: 'string' } },
        required: ['timezone'],
        additionalProperties: false,
      },
    },
  ];

  it('answers a non-stream request with a response the SDK accepts, output_text included', async () => {
    const response = await client.responses.create({
      model: 'cached',
      instructions: 'Be brief.',
      input: 'hello there',
      stream: false,
      store: false,
    });

    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('fake reply to: hello there');
    expect(response.usage).toEqual({
      input_tokens: 10 + 100 + 50,
      input_tokens_details: { cached_tokens: 100, cache_write_tokens: 50 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 180,
    });
    expect(upstream.lastRequest?.body).toEqual({
      model: 'cached',
      max_tokens: 1024,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }],
      stream: false,
    });
  });

  it('answers a non-stream tool call as a function_call item with call_id, name and arguments', async () => {
    const response = await client.responses.create({ model: 'tool-call', input: 'weather?', tools: strictTools });
    const [call] = response.output;

    expect(call).toMatchObject({
      type: 'function_call',
      call_id: expect.stringMatching(/^toolu_fake\d+_0$/),
      name: 'get_weather',
      status: 'completed',
    });
    expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    expect(response.output_text).toBe('');
  });

  it('streams parallel tool calls that finalResponse() assembles with their arguments parsed', async () => {
    const stream = client.responses.stream({ model: 'parallel-tool-calls', input: 'hello there', tools: strictTools });
    const response = await stream.finalResponse();

    expect(response.status).toBe('completed');
    expect(
      response.output.map((item) =>
        item.type === 'function_call' ? [item.call_id, item.name, item.arguments, item.parsed_arguments] : [],
      ),
    ).toEqual([
      [expect.stringMatching(/^toolu_fake\d+_0$/), 'get_weather', '{"city":"Paris"}', { city: 'Paris' }],
      [
        expect.stringMatching(/^toolu_fake\d+_1$/),
        'get_time',
        '{"timezone":"Europe/Paris"}',
        { timezone: 'Europe/Paris' },
      ],
    ]);
    expect(response.usage).toMatchObject({ input_tokens: 10, output_tokens: 20, total_tokens: 30 });
    expect(upstream.lastRequest?.body).toMatchObject({
      stream: true,
      tools: [{ name: 'get_weather' }, { name: 'get_time' }],
    });
  });

  it('streams a recorded text-and-tool answer whose text deltas and output_text the SDK assembles', async () => {
    const stream = client.responses.stream({ model: 'fixture:tool-call.sse', input: 'weather?' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();

    expect(deltas.join('')).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(response.output_text).toBe("Okay, let's check the weather for San Francisco, CA:");
    const call = response.output[1];
    expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({
      location: 'San Francisco, CA',
      unit: 'fahrenheit',
    });
  });

  it('streams an incomplete (max tokens) answer that finalResponse() returns with its status', async () => {
    const response = await client.responses.stream({ model: 'max-tokens', input: 'tell me a story' }).finalResponse();

    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output_text).toBe('fake reply to: tell me a story');
  });

  it('keeps a thinking tool loop going: the reasoning item sent back restores the signed thinking block', async () => {
    // Prepare: the first turn streams thinking and a tool call.
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.responses
      .stream({
        model: 'thinking+tool-call',
        input,
        tools: strictTools,
        reasoning: { effort: 'high' },
        max_output_tokens: 4096,
        store: false,
      })
      .finalResponse();
    const thinking = 'The user wants a reply. I will echo their words.';
    const [reasoning, call] = first.output;
    expect(reasoning).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: thinking }] });
    const callId = call?.type === 'function_call' ? call.call_id : '';

    // Act: the client sends the whole conversation back with the tool's output, as Codex does.
    const next: ResponseInputItem[] = [
      ...input,
      ...(first.output as ResponseInputItem[]),
      { type: 'function_call_output', call_id: callId, output: '18°C' },
    ];
    const second = await client.responses.create({
      model: 'thinking',
      input: next,
      tools: strictTools,
      reasoning: { effort: 'high' },
      max_output_tokens: 4096,
      store: false,
    });

    // Assess
    expect(second.status).toBe('completed');
    expect(upstream.lastRequest?.body).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 3072 },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        {
          role: 'assistant',
          content: [
            {
              type: 'thinking',
              thinking,
              signature: Buffer.from(`fake-signature:${thinking.length}`).toString('base64'),
            },
            { type: 'tool_use', id: callId, name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: callId, content: '18°C' }] },
      ],
    });
  });

  it("raises the SDK's APIError for an in-stream error event", async () => {
    const stream = client.responses.stream({ model: 'fixture:error-mid-stream.sse', input: 'story' });

    await expect(stream.finalResponse()).rejects.toMatchObject({
      constructor: OpenAI.APIError,
      message: expect.stringContaining('Overloaded'),
      code: 'overloaded_error',
    });
  });

  it("maps upstream errors to the SDK's typed errors with the status kept", async () => {
    await expect(client.responses.create({ model: 'fail-529', input: 'hi' })).rejects.toMatchObject({
      constructor: OpenAI.InternalServerError,
      status: 529,
      type: 'overloaded_error',
    });
    await expect(client.responses.create({ model: 'fail-429', input: 'hi' })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
  });

  it('answers previous_response_id with a 400 BadRequestError that says where it is served', async () => {
    await expect(
      client.responses.create({ model: 'any', input: 'hi', previous_response_id: 'resp_123' }),
    ).rejects.toMatchObject({
      constructor: OpenAI.BadRequestError,
      status: 400,
      param: 'previous_response_id',
      message: expect.stringContaining('served on OpenAI-protocol routes'),
    });
    expect(upstream.requestCount).toBe(0);
  });
});
