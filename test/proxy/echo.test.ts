import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountWithKey, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('the built-in echo provider, end to end through the gateway', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    db = await createTestDatabase();
    await putRoute(db, { model: 'tollgate-echo', provider: 'echo' });
    const { secret } = await createAccountWithKey(db);
    gateway = await startTestGateway(db, {});
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('answers an OpenAI chat completion with the last user message and its usage', async () => {
    const completion = await openai.chat.completions.create({
      model: 'tollgate-echo',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello from the openai sdk' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('hello from the openai sdk');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(5);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('streams an OpenAI chat completion chunk by chunk, with usage when asked for', async () => {
    const stream = await openai.chat.completions.create({
      model: 'tollgate-echo',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) deltas.push(piece);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas).toEqual(['one ', 'two ', 'three']);
    expect(usage?.completion_tokens).toBe(3);
  });

  it('answers an Anthropic message, stream and not, through the Anthropic SDK', async () => {
    const message = await anthropic.messages.create({
      model: 'tollgate-echo',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hello from the anthropic sdk' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'hello from the anthropic sdk' }]);
    expect(message.stop_reason).toBe('end_turn');

    const streamed = await anthropic.messages
      .stream({ model: 'tollgate-echo', max_tokens: 100, messages: [{ role: 'user', content: 'streamed words here' }] })
      .finalMessage();
    expect(streamed.content).toMatchObject([{ type: 'text', text: 'streamed words here' }]);
    expect(streamed.usage.output_tokens).toBe(3);
    expect(streamed.usage.input_tokens).toBeGreaterThan(0);
  });

  it('serves plain HTTP clients such as curl, with a request id on every answer', async () => {
    const { secret } = await createAccountWithKey(db);
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tollgate-echo', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const text = await response.text();
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });
});
