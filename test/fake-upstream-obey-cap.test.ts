import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, obeyCap, startFakeUpstream, UNCAPPED_OUTPUT_TOKENS } from './support/fake-upstream.ts';

// 'twenty characters !!' is 20 characters: 5 input tokens at 4 characters each.
const USER = [{ role: 'user' as const, content: 'twenty characters !!' }];
const INPUT_TOKENS = 5;

let upstream: FakeUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  openai = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
  anthropic = new Anthropic({ baseURL: upstream.url, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
});

afterAll(async () => {
  await upstream.close();
});

describe('obeyCap: what an obey-cap upstream generates', () => {
  it.each([
    { endpoint: 'chat', body: { max_tokens: 100, n: 3 }, tokens: 100, output: 300 },
    { endpoint: 'chat', body: { max_tokens: 64_000, max_completion_tokens: 1 }, tokens: 1, output: 1 },
    { endpoint: 'chat', body: { max_output_tokens: 7 }, tokens: undefined, output: UNCAPPED_OUTPUT_TOKENS },
    { endpoint: 'chat', body: { n: 2 }, tokens: undefined, output: 2 * UNCAPPED_OUTPUT_TOKENS },
    { endpoint: 'messages', body: { max_tokens: 9, n: 5, max_output_tokens: 64_000 }, tokens: 9, output: 9 },
    { endpoint: 'responses', body: { max_output_tokens: 11, max_tokens: 1 }, tokens: 11, output: 11 },
    { endpoint: 'responses', body: { max_tokens: 1 }, tokens: undefined, output: UNCAPPED_OUTPUT_TOKENS },
    { endpoint: 'responses', body: { max_output_tokens: 0 }, tokens: undefined, output: UNCAPPED_OUTPUT_TOKENS },
  ] as const)('reads $endpoint $body as $output output tokens', ({ endpoint, body, tokens, output }) => {
    const obeyed = obeyCap(endpoint, { ...body, messages: USER });
    expect(obeyed.tokens).toBe(tokens);
    expect(obeyed.outputTokens).toBe(output);
    expect(obeyed.fields).toEqual(Object.keys(body).filter((field) => field !== 'n'));
    expect(obeyed.inputTokens).toBe(INPUT_TOKENS);
  });
});

describe('fake upstream: the obey-cap model, through the official SDKs', () => {
  it('answers chat with n choices stopped on the cap and usage of cap × n', async () => {
    const completion = await openai.chat.completions.create({
      model: 'obey-cap',
      messages: USER,
      max_tokens: 7,
      n: 3,
    });
    expect(completion.choices.map((choice) => [choice.index, choice.finish_reason])).toEqual([
      [0, 'length'],
      [1, 'length'],
      [2, 'length'],
    ]);
    expect(completion.usage).toMatchObject({ prompt_tokens: INPUT_TOKENS, completion_tokens: 21 });
  });

  it('streams chat choices by index, reading max_completion_tokens before max_tokens', async () => {
    const stream = await openai.chat.completions.create({
      model: 'obey-cap',
      messages: USER,
      max_completion_tokens: 5,
      max_tokens: 999,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const finished: number[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) if (choice.finish_reason === 'length') finished.push(choice.index);
      usage = chunk.usage ?? usage;
    }
    expect(finished).toEqual([0, 1]);
    expect(usage).toMatchObject({ prompt_tokens: INPUT_TOKENS, completion_tokens: 10 });
  });

  it('reports a million output tokens on chat when no cap was sent', async () => {
    const completion = await openai.chat.completions.create({ model: 'obey-cap', messages: USER });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(UNCAPPED_OUTPUT_TOKENS);
  });

  it('answers messages with max_tokens output tokens, stopped on max_tokens, streamed or not', async () => {
    const params = { model: 'obey-cap', max_tokens: 9, messages: USER };
    const message = await anthropic.messages.create(params);
    const streamed = await anthropic.messages.stream(params).finalMessage();
    for (const answer of [message, streamed]) {
      expect(answer.stop_reason).toBe('max_tokens');
      expect(answer.usage).toMatchObject({ input_tokens: INPUT_TOKENS, output_tokens: 9 });
    }
  });

  it('answers responses with max_output_tokens output tokens, incomplete, streamed or not', async () => {
    const params = { model: 'obey-cap', input: 'twenty characters !!', max_output_tokens: 11 };
    const response = await openai.responses.create(params);
    const streamed = await openai.responses.stream(params).finalResponse();
    for (const answer of [response, streamed]) {
      expect(answer.status).toBe('incomplete');
      expect(answer.usage).toMatchObject({ input_tokens: INPUT_TOKENS, output_tokens: 11 });
    }
  });

  it('reports a million output tokens on responses when only a foreign cap field was sent', async () => {
    const response = await openai.responses.create({
      model: 'obey-cap',
      input: 'twenty characters !!',
      max_tokens: 1,
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    expect(response.status).toBe('completed');
    expect(response.usage?.output_tokens).toBe(UNCAPPED_OUTPUT_TOKENS);
  });
});
