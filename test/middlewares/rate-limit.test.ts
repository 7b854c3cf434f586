import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitError } from '../../lambdas/errors.ts';
import { WINDOW_MS } from '../../lambdas/gateway/rate-limit.ts';
import type { Endpoint } from '../../lambdas/gateway/state.ts';
import { rateLimit } from '../../lambdas/middlewares/rate-limit.ts';
import type { KeyRecord } from '../../lambdas/vocabulary.ts';
import { FakeCounters, givenState, keyRecord } from '../support/fakes.ts';
import { lambdaContext, proxyEvent, REACHED, reachHandler } from '../support/lambda.ts';

/** 45 s into a one-minute window: 15 s until the next. */
const WINDOW = 1_800_000_000_000;
const NOW = WINDOW + 45_000;

describe('rateLimit', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  const chain = () => {
    const counters = new FakeCounters();
    const handler = middy(reachHandler).use(rateLimit({ counters }));
    /** One request from `key` to `endpoint`, as the earlier middlewares left it. */
    const send = (key: KeyRecord, endpoint: Endpoint = 'chat') => {
      const context = lambdaContext();
      givenState(context, { endpoint, auth: { key } });
      return handler(proxyEvent('/v1/chat/completions'), context);
    };
    return { counters, send };
  };

  it('costs nothing for a key without limits: no counter is touched', async () => {
    const { counters, send } = chain();
    expect(await send(keyRecord())).toBe(REACHED);
    expect(await send(keyRecord())).toBe(REACHED);
    expect(counters.requestCalls).toEqual([]);
  });

  it("counts each request of a limited key in its minute's window and lets it through while within rpm", async () => {
    const { counters, send } = chain();
    const key = keyRecord({ keyId: 'key_rpm', rpm: 2 });
    expect(await send(key)).toBe(REACHED);
    expect(await send(key)).toBe(REACHED);
    expect(counters.requestCalls).toEqual([
      { keyId: 'key_rpm', windowStart: WINDOW },
      { keyId: 'key_rpm', windowStart: WINDOW },
    ]);
  });

  it('refuses the request over rpm with a 429 rate_limit_error and retry-after until the next window', async () => {
    // Prepare
    const { send } = chain();
    const key = keyRecord({ rpm: 2 });
    await send(key);
    await send(key);
    // Act
    const refused = send(key);
    // Assess
    await expect(refused).rejects.toBeInstanceOf(RateLimitError);
    await expect(refused).rejects.toMatchObject({
      status: 429,
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': '15' },
      message: 'Rate limit exceeded for this API key: 2 requests per minute. Retry after 15 s.',
    });
  });

  it('lets the same key through again in the next window', async () => {
    const { send } = chain();
    const key = keyRecord({ rpm: 1 });
    await send(key);
    await expect(send(key)).rejects.toBeInstanceOf(RateLimitError);
    vi.setSystemTime(WINDOW + WINDOW_MS);
    expect(await send(key)).toBe(REACHED);
  });

  it('refuses a key whose window has used up its tokens per minute', async () => {
    const { counters, send } = chain();
    const key = keyRecord({ keyId: 'key_tpm', tpm: 1_000 });
    await counters.countTokens('key_tpm', WINDOW, 1_000);
    await expect(send(key)).rejects.toMatchObject({
      status: 429,
      message: 'Rate limit exceeded for this API key: 1000 tokens per minute. Retry after 15 s.',
    });
  });

  it('counts count_tokens requests too: free, but not unlimited', async () => {
    const { counters, send } = chain();
    const key = keyRecord({ rpm: 1 });
    expect(await send(key, 'count_tokens')).toBe(REACHED);
    await expect(send(key, 'count_tokens')).rejects.toBeInstanceOf(RateLimitError);
    expect(counters.requestCalls).toHaveLength(2);
  });

  it.each<Endpoint>(['models', 'wallet'])('does not count %s requests', async (endpoint) => {
    const { counters, send } = chain();
    const key = keyRecord({ rpm: 1 });
    expect(await send(key, endpoint)).toBe(REACHED);
    expect(await send(key, endpoint)).toBe(REACHED);
    expect(counters.requestCalls).toEqual([]);
  });
});
