import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

const PRICES = { input: 3_000_000_000, output: 15_000_000_000 };
// 1000 in + 500 out at these prices: $0.0105 a request.
const USAGE = { usage: { inputTokens: 1000, outputTokens: 500 } };

describe('proxy: low-balance alerts', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-alerts', provider: 'openai', prices: PRICES, defaultMaxTokens: 1000 });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  const call = async (secret: string) => {
    upstream.enqueue(USAGE);
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-alerts', messages: [{ role: 'user', content: 'spend' }] });
  };
  const alertsOf = async (accountId: string) =>
    (await db.stores.wallets.pendingAlerts(1_000)).filter((alert) => alert.accountId === accountId);

  it("records one pending alert when a request's settle crosses the threshold, and moves no money for it", async () => {
    // Prepare: $1.00, alert below $0.99: the first request ($0.0105) crosses
    const { accountId, secret } = await createAccountWithKey(db, { usd: 1 });
    await db.stores.wallets.setAlertBelow(accountId, 990_000_000);

    // Act
    await call(secret);
    await settledUsage(db, accountId, 1);
    await call(secret);
    await settledUsage(db, accountId, 2);

    // Assess: the check runs just after the settle commits
    let alerts = await alertsOf(accountId);
    for (let tries = 0; alerts.length === 0 && tries < 100; tries += 1) {
      await new Promise((done) => setTimeout(done, 20));
      alerts = await alertsOf(accountId);
    }
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.alertBelow).toBe(990_000_000);
    expect(alerts[0]?.balance).toBeLessThan(990_000_000);
    expect(await db.stores.wallets.get(accountId)).toMatchObject({ balance: 979_000_000, alertArmed: false });
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it('records nothing for an account without a threshold', async () => {
    const { accountId, secret } = await createAccountWithKey(db, { usd: 1 });

    await call(secret);
    await settledUsage(db, accountId, 1);

    expect(await alertsOf(accountId)).toEqual([]);
  });
});
