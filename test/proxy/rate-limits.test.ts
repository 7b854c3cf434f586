import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** Limits count in fixed minutes: start a burst well inside one, so the test cannot straddle two. */
const insideOneMinute = async () => {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((done) => setTimeout(done, 60_000 - intoMinute + 50));
};

describe('per-key rate limits, shared by every instance', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateways: TestGateway[];

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai' });
    const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${upstream.url}/v1` };
    // Two gateways on one database stand for two Lambda instances.
    gateways = [await startTestGateway(db, env), await startTestGateway(db, env)];
  });
  afterAll(async () => {
    for (const gateway of gateways ?? []) await gateway.close();
    await upstream?.close();
  });

  const limitedKey = async (limits: { rpm?: number; tpm?: number }) => {
    const { accountId } = await createAccountWithKey(db);
    const key = mintKey(accountId);
    await db.stores.keys.put({ ...key.record, ...limits });
    return { accountId, secret: key.secret };
  };
  const call = (gateway: TestGateway, secret: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
    });

  it('refuses the request over the per-minute limit with 429 rate_limit_error and retry-after, across instances', async () => {
    const { secret, accountId } = await limitedKey({ rpm: 3 });
    await insideOneMinute();
    const statuses: number[] = [];
    for (const gateway of [gateways[0], gateways[1], gateways[0]] as TestGateway[]) {
      statuses.push((await call(gateway, secret)).status);
    }
    const refused = await call(gateways[1] as TestGateway, secret);
    expect(statuses).toEqual([200, 200, 200]);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toMatchObject({
      error: {
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        message: expect.stringContaining('3 requests per minute'),
      },
    });
    // A refused request holds and bills nothing.
    expect(await settledUsage(db, accountId, 3)).toHaveLength(3);
  });

  it('lets the OpenAI SDK see a RateLimitError', async () => {
    const { secret } = await limitedKey({ rpm: 1 });
    await insideOneMinute();
    const client = new OpenAI({ baseURL: `${(gateways[0] as TestGateway).url}/v1`, apiKey: secret, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
    await expect(
      client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('stops a key once the tokens it used this minute reach its token limit', async () => {
    const { secret, accountId } = await limitedKey({ tpm: 25 });
    await insideOneMinute();
    upstream.enqueue({ usage: { inputTokens: 10, outputTokens: 20 } });
    expect((await call(gateways[0] as TestGateway, secret)).status).toBe(200);
    await settledUsage(db, accountId, 1);
    // 30 tokens ≥ 25: the next request is refused, on any instance.
    await new Promise((done) => setTimeout(done, 100)); // the token count lands just after the settle
    const refused = await call(gateways[1] as TestGateway, secret);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain('25 tokens per minute');
  });

  it('costs keys without limits nothing', async () => {
    const { secret } = await createAccountWithKey(db);
    for (let i = 0; i < 5; i += 1) expect((await call(gateways[0] as TestGateway, secret)).status).toBe(200);
  });
});
