import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

const CHEAP = { input: 1_000_000_000, output: 2_000_000_000 };
const DEAR = { input: 5_000_000_000, output: 10_000_000_000 };

describe('fallback routes', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'backup', provider: 'openai', upstreamModel: 'backup-upstream', prices: DEAR });
    await putRoute(db, {
      model: 'claude-backup',
      provider: 'anthropic',
      upstreamModel: 'claude-upstream',
      prices: DEAR,
    });
    await putRoute(db, {
      model: 'limited',
      provider: 'openai',
      upstreamModel: 'fail-429',
      prices: CHEAP,
      fallbacks: ['backup'],
    });
    await putRoute(db, {
      model: 'down',
      provider: 'openai',
      upstreamModel: 'reset-before-headers',
      prices: CHEAP,
      fallbacks: ['claude-backup'],
    });
    await putRoute(db, {
      model: 'broken',
      provider: 'openai',
      upstreamModel: 'fail-503',
      prices: CHEAP,
      fallbacks: ['limited', 'backup'],
    });
    await putRoute(db, {
      model: 'bad-request',
      provider: 'openai',
      upstreamModel: 'fail-400',
      prices: CHEAP,
      fallbacks: ['backup'],
    });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const chat = (secret: string, model: string, stream = false) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'fall back' }] }),
    });

  it('tries the next route on a 429, bills the route that answered, and says which in a header', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    upstream.script((request) =>
      request.model === 'backup-upstream' ? { usage: { inputTokens: 100, outputTokens: 10 } } : undefined,
    );
    const response = await chat(secret, 'limited');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-route')).toBe('backup');
    expect(await response.json()).toMatchObject({ choices: [{ message: { content: 'fake reply to: fall back' } }] });
    expect(upstream.requests.map((request) => request.model)).toEqual(['fail-429', 'backup-upstream']);
    const [row] = await settledUsage(db, accountId, 1);
    // Billed at the backup's prices: 100 × $5 + 10 × $10 per 1M = 600_000 nano-USD.
    expect(row).toMatchObject({ model: 'backup', fallbackFrom: 'limited', prices: DEAR, cost: 600_000 });
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it('falls back across protocols when the upstream cannot be reached, streaming the answer', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    const response = await chat(secret, 'down', true);
    expect(response.headers.get('x-tollgate-route')).toBe('claude-backup');
    const text = await response.text();
    const deltas = text
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => JSON.parse(frame.slice(6)) as { choices: { delta: { content?: string } }[] })
      .map((chunk) => chunk.choices[0]?.delta.content ?? '')
      .join('');
    expect(deltas).toBe('fake reply to: fall back');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({
      model: 'claude-backup',
      provider: 'anthropic',
      fallbackFrom: 'down',
      outcome: 'completed',
    });
  });

  it('follows the route’s own list of fallbacks in order and answers the last error when every route fails', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    upstream.script((request) => (request.model === 'backup-upstream' ? { status: 500 } : undefined));
    const response = await chat(secret, 'broken');
    expect(response.status).toBe(500);
    expect(upstream.requests.map((request) => request.model)).toEqual(['fail-503', 'fail-429', 'backup-upstream']);
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({ outcome: 'upstream_error', cost: 0 });
  });

  it('does not fall back on a client error such as 400', async () => {
    const { secret } = await createAccountWithKey(db);
    const response = await chat(secret, 'bad-request');
    expect(response.status).toBe(400);
    expect(upstream.requests.map((request) => request.model)).toEqual(['fail-400']);
  });
});
