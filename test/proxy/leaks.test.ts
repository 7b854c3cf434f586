import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import { ProxyMetric } from '../../lib/metrics.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $1 in, $2 out per million tokens: 1 input token = 1_000 nano-USD, 1 output token = 2_000.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const CENT = 10_000_000;

/** Limits count in fixed minutes: start a burst well inside one, so the test cannot straddle two. */
const insideOneMinute = async () => {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((done) => setTimeout(done, 60_000 - intoMinute + 50));
};

/** The examples of issue 10 that no other test file proves at the gateway. */
describe('leaks found in issue 10', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let published: Map<string, number>[];

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
    await putRoute(db, { model: 'claude', provider: 'anthropic', upstreamModel: 'claude-upstream', prices: PRICES });
    await putRoute(db, { model: 'backup', provider: 'openai', upstreamModel: 'backup-upstream', prices: PRICES });
    await putRoute(db, {
      model: 'main',
      provider: 'openai',
      upstreamModel: 'fail-500',
      prices: PRICES,
      fallbacks: ['backup'],
    });
    published = [];
    let current = new Map<string, number>();
    const metrics = {
      addMetric: (name: string, _unit: unknown, value: number) => {
        current.set(name, (current.get(name) ?? 0) + value);
      },
      publishStoredMetrics: () => {
        published.push(current);
        current = new Map();
      },
    };
    gateway = await startTestGateway(db, providerEnv(upstream), {}, { metrics: metrics as never });
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const post = (secret: string, path: string, body: Record<string, unknown>) => gateway.post(secret, path, body);
  const chat = (model: string) => ({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] });
  const countTokens = (secret: string) =>
    post(secret, '/v1/messages/count_tokens', { model: 'claude', messages: [{ role: 'user', content: 'hello' }] });
  /** A key on a fresh account, with the limits and allow-list given. */
  const keyWith = async (record: { rpm?: number; models?: string[] }, usd = 5) => {
    const { accountId } = await createAccountWithKey(db, { usd });
    const key = mintKey(accountId, record.models ? { models: record.models } : {});
    await db.stores.keys.put({ ...key.record, ...(record.rpm ? { rpm: record.rpm } : {}) });
    return { accountId, secret: key.secret };
  };

  it("does not fall back to a route the key's model allow-list leaves out", async () => {
    // Prepare: 'main' fails with 500 and falls back to 'backup'; one key may use 'main' only
    const allowed = await keyWith({ models: ['main'] });
    const any = await keyWith({});
    // Act
    const refused = await post(allowed.secret, '/v1/chat/completions', chat('main'));
    const seenByAllowed = upstream.requests.map((request) => request.model);
    const served = await post(any.secret, '/v1/chat/completions', chat('main'));
    // Assess: the limited key gets the upstream's error, never an answer from 'backup'
    expect(refused.status).toBe(500);
    expect(refused.headers.get('x-tollgate-route')).toBeNull();
    expect(seenByAllowed).toEqual(['fail-500']);
    const [row] = await settledUsage(db, allowed.accountId, 1);
    expect(row).toMatchObject({ model: 'main', outcome: 'upstream_error', cost: 0 });
    expect(row?.fallbackFrom).toBeUndefined();
    // …while a key without an allow-list is served by the fallback, as the route says
    expect(served.status).toBe(200);
    expect(served.headers.get('x-tollgate-route')).toBe('backup');
  });

  it("counts count_tokens against the key's requests per minute", async () => {
    const { secret } = await keyWith({ rpm: 2 });
    await insideOneMinute();
    expect((await countTokens(secret)).status).toBe(200);
    expect((await countTokens(secret)).status).toBe(200);
    const before = upstream.requestCount;
    const refused = await countTokens(secret);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    // The third request of the minute, whatever its kind, is over the limit and goes nowhere
    expect((await post(secret, '/v1/chat/completions', chat('gpt'))).status).toBe(429);
    expect(upstream.requestCount).toBe(before);
  });

  it('debits reported usage beyond the hold in full, flags the row overrun and counts an Overruns metric', async () => {
    // Prepare: one cent, and an upstream that reports 15,000 input tokens for a request held at a few hundred
    const { accountId, secret } = await createAccountWithKey(db, { nano: CENT });
    upstream.enqueue({ usage: { inputTokens: 15_000, outputTokens: 100 } });
    // Act
    const response = await post(secret, '/v1/chat/completions', chat('gpt'));
    // Assess
    expect(response.status).toBe(200);
    await response.text();
    const [row] = await settledUsage(db, accountId, 1);
    const cost = 15_000 * 1_000 + 100 * 2_000;
    expect(row).toMatchObject({ outcome: 'completed', overrun: true, cost });
    expect(row?.estimated).toBeUndefined();
    expect(cost).toBeGreaterThan(row?.hold ?? 0);
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(CENT - cost);
    expect((await audit(db, accountId)).difference).toBe(0);
    await new Promise((done) => setTimeout(done, 100)); // metrics are published right after the settle
    const batch = published.find((metrics) => metrics.get(ProxyMetric.CostBilledNanoUsd) === cost);
    expect(batch?.get(ProxyMetric.Overruns)).toBe(1);
    expect(published.filter((metrics) => metrics.has(ProxyMetric.Overruns))).toHaveLength(1);
    // The account sees it too: GET /v1/wallet shows the row flagged
    const wallet = await fetch(`${gateway.url}/v1/wallet`, { headers: { authorization: `Bearer ${secret}` } });
    const { ledger } = (await wallet.json()) as { ledger: { data: unknown[] } };
    expect(ledger.data[0]).toMatchObject({ overrun: true, estimated: false, cost_nano: cost });
  });

  it('answers 402 to count_tokens, as to every billed endpoint, for an account past its credit limit', async () => {
    // Prepare: an overrun leaves the account below zero (credit limit 0)
    const { accountId, secret } = await createAccountWithKey(db, { nano: CENT });
    upstream.enqueue({ usage: { inputTokens: 15_000, outputTokens: 100 } });
    await (await post(secret, '/v1/chat/completions', chat('gpt'))).text();
    await settledUsage(db, accountId, 1);
    expect((await db.stores.wallets.get(accountId))?.spendable).toBeLessThan(0);
    const before = upstream.requestCount;
    // Act
    const counted = await countTokens(secret);
    const chatted = await post(secret, '/v1/chat/completions', chat('gpt'));
    // Assess: refused before any upstream call, in each client's envelope
    expect(counted.status).toBe(402);
    expect(await counted.json()).toMatchObject({
      type: 'error',
      error: { type: 'billing_error', message: expect.stringContaining('Top up') },
    });
    expect(chatted.status).toBe(402);
    expect(await chatted.json()).toMatchObject({ error: { type: 'billing_error' } });
    expect(upstream.requestCount).toBe(before);
    // The wallet itself stays readable, so the account can see why
    const wallet = await fetch(`${gateway.url}/v1/wallet`, { headers: { authorization: `Bearer ${secret}` } });
    expect(wallet.status).toBe(200);
  });
});
