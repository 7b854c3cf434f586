import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyMetric } from '../../lib/metrics.ts';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('proxy metrics (the names the alarms watch)', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let published: Map<string, number>[];
  let current: Map<string, number>;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai' });
    await putRoute(db, { model: 'gpt-down', provider: 'openai', upstreamModel: 'reset-before-headers' });
    await putRoute(db, { model: 'gpt-nokey', provider: 'openai', credential: 'UNSET_TEST_API_KEY' });
    published = [];
    current = new Map();
    const metrics = {
      addMetric: (name: string, _unit: unknown, value: number) => {
        current.set(name, (current.get(name) ?? 0) + value);
      },
      publishStoredMetrics: () => {
        published.push(current);
        current = new Map();
      },
    };
    gateway = await startTestGateway(
      db,
      { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${upstream.url}/v1` },
      {},
      {
        metrics: metrics as never,
      },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const call = (secret: string, model: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
    }).then((response) => response.text());

  it('counts requests, failures by kind, latency, overhead, tokens and cost — one publish per request', async () => {
    const rich = await createAccountWithKey(db);
    const poor = await createAccountWithKey(db, { nano: 1 });
    upstream.enqueue({ usage: { inputTokens: 10, outputTokens: 20 } });
    await call(rich.secret, 'gpt');
    await settledUsage(db, rich.accountId, 1);
    await call(rich.secret, 'gpt-down');
    await call(rich.secret, 'gpt-nokey');
    await call(poor.secret, 'gpt');
    await new Promise((done) => setTimeout(done, 200)); // requestEnd runs after the response
    const total = (name: string) => published.reduce((sum, batch) => sum + (batch.get(name) ?? 0), 0);
    expect(total(ProxyMetric.Requests)).toBe(4);
    expect(total(ProxyMetric.Errors5xx)).toBe(2);
    expect(total(ProxyMetric.UpstreamConnectionFailures)).toBe(1);
    expect(total(ProxyMetric.ConfigurationErrors)).toBe(1);
    expect(total(ProxyMetric.HoldsRefused)).toBe(1);
    expect(total(ProxyMetric.TokensBilled)).toBe(30);
    // 10 × $1 + 20 × $2 per 1M tokens (the test route's prices) = 50_000 nano-USD.
    expect(total(ProxyMetric.CostBilledNanoUsd)).toBe(50_000);
    expect(published.filter((batch) => batch.has(ProxyMetric.OverheadMs))).toHaveLength(1);
    expect(published.filter((batch) => batch.has(ProxyMetric.UpstreamTtfbMs))).toHaveLength(1);
    expect(published).toHaveLength(4);
  });
});
