import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyBudgetSk, limitPeriod } from '../../lambdas/gateway/key-budget.ts';
import { quoteHold } from '../../lambdas/gateway/pricing.ts';
import { updateKey } from '../../lambdas/services/keys.ts';
import type { LimitReset } from '../../lambdas/vocabulary.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $3 in, $15 out per million tokens, in nano-USD per million.
const PRICES = { input: 3_000_000_000, output: 15_000_000_000 };
const RICH = 1_000; // USD: the wallet never limits these requests, only the key does.

describe('per-key spend limits', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  /** A fresh account with plenty of funds and one key limited to `limit` nano-USD per `reset`. */
  const limitedKey = async (limit: number, reset: LimitReset = 'monthly') => {
    const account = await createAccountWithKey(db, { usd: RICH });
    await updateKey(db.stores, { keyId: account.record.keyId, spendLimit: limit, limitReset: reset });
    return account;
  };
  const spendRow = async (accountId: string, keyId: string, reset: LimitReset = 'monthly') =>
    db.stores.wallets.keySpend(accountId, keyBudgetSk(keyId, limitPeriod(reset, new Date())));
  const chat = (secret: string, body: Record<string, unknown>) => gateway.post(secret, '/v1/chat/completions', body);

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-limited', provider: 'openai', prices: PRICES, defaultMaxTokens: 1000 });
    await putRoute(db, { model: 'claude-limited', provider: 'anthropic', prices: PRICES });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  describe('the race', () => {
    it('serves at most 10 of 50 concurrent requests when the key limit covers 10 holds, on a rich account', async () => {
      // Prepare: identical requests, so every hold is the same amount; the limit covers exactly 10.
      const body = {
        model: 'gpt-limited',
        stream: true,
        max_tokens: 2000,
        messages: [{ role: 'user', content: 'race' }],
      };
      const text = JSON.stringify(body);
      const hold = quoteHold(text, body, { tokens: 2000, choices: 1 }, PRICES).amount;
      const { accountId, secret, record } = await limitedKey(hold * 10);
      // The upstream answers only after 3 s, so no settle frees room while the 50 holds race.
      upstream.script(() => ({ ttfbMs: 3_000, usage: { inputTokens: 10, outputTokens: 20 } }));

      // Act
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${gateway.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body: text,
          }).then(async (response) => ({ status: response.status, text: await response.text() })),
        ),
      );

      // Assess
      const served = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status === 402);
      expect(responses.filter((r) => r.status !== 200 && r.status !== 402)).toEqual([]);
      expect(served.length).toBeLessThanOrEqual(10);
      expect(served.length).toBeGreaterThan(0);
      expect(served.length + refused.length).toBe(50);
      const error = JSON.parse(refused[0]?.text ?? '{}').error;
      expect(error.type).toBe('billing_error');
      expect(error.message).toMatch(
        /^Key limit reached: this key may spend \$[\d.]+ per month; \$[\d.]+ is used or held/,
      );
      expect(error.message).toContain("Raise the key's limit on API Keys");
      expect(error.message).not.toContain('Insufficient balance');
      // A refused request never reached the upstream: the key's limit is checked before the call.
      expect(upstream.requestCount).toBe(served.length);
      const rows = await settledUsage(db, accountId, served.length);
      // 10 input × $3 + 20 output × $15 per 1M = 330_000 nano-USD each.
      expect(rows.map((row) => row.cost)).toEqual(Array(served.length).fill(330_000));
      expect(rows.every((row) => row.keyBudget === keyBudgetSk(record.keyId, limitPeriod('monthly', new Date())))).toBe(
        true,
      );
      const spent = served.length * 330_000;
      expect(await spendRow(accountId, record.keyId)).toEqual({ spent, held: 0, used: spent });
      expect((await audit(db, accountId)).difference).toBe(0);
      const wallet = await db.stores.wallets.get(accountId);
      expect(wallet?.balance).toBe(RICH * 1e9 - spent);
    });

    it('never lets mixed request shapes (chat, messages, streams, big and small caps) take the key past its limit', async () => {
      // Prepare: a limit of $0.50; every shape below holds a different amount.
      const limit = 500_000_000;
      const { accountId, secret, record } = await limitedKey(limit, 'daily');
      // The upstream writes as much as each cap allows (an upstream obeys the cap the gateway writes into its body).
      upstream.script(() => ({ ttfbMs: 300, obeyCap: true, usage: { inputTokens: 5, outputTokens: 16_000 } }));
      const shapes = Array.from({ length: 48 }, (_, index) => {
        const maxTokens = [500, 4000, 16_000, 8000][index % 4] as number;
        const stream = index % 3 === 0;
        return index % 2 === 0
          ? {
              path: '/v1/chat/completions',
              body: { model: 'gpt-limited', stream, max_tokens: maxTokens, messages: [{ role: 'user', content: 'x' }] },
            }
          : {
              path: '/v1/messages',
              body: {
                model: 'claude-limited',
                stream,
                max_tokens: maxTokens,
                messages: [{ role: 'user', content: 'y' }],
              },
            };
      });

      // Act
      const statuses = await Promise.all(
        shapes.map(async ({ path, body }) => {
          const response = await gateway.post(secret, path, body, { headers: { 'anthropic-version': '2023-06-01' } });
          await response.text();
          return response.status;
        }),
      );

      // Assess: everyone got an answer or the 402; what was spent and held never passed the limit.
      expect(statuses.filter((status) => status !== 200 && status !== 402)).toEqual([]);
      expect(statuses.filter((status) => status === 402).length).toBeGreaterThan(0);
      const served = statuses.filter((status) => status === 200).length;
      const rows = await settledUsage(db, accountId, served);
      const spend = await spendRow(accountId, record.keyId, 'daily');
      const cost = rows.reduce((sum, row) => sum + (row.cost ?? 0), 0);
      expect(spend).toEqual({ spent: cost, held: 0, used: cost });
      expect(cost).toBeLessThanOrEqual(limit);
      expect((await audit(db, accountId)).difference).toBe(0);
    });
  });

  it('refuses a request whose hold alone is more than the limit, naming max tokens', async () => {
    // Prepare: $0.01 allows no request with 100k output tokens at $15 per million.
    const { secret } = await limitedKey(10_000_000);

    // Act
    const response = await chat(secret, {
      model: 'gpt-limited',
      max_tokens: 100_000,
      messages: [{ role: 'user', content: 'hi' }],
    });

    // Assess
    expect(response.status).toBe(402);
    const { error } = await response.json();
    expect(error.message).toMatch(/^Key limit reached: this key may spend \$0\.01 per month, and this request alone/);
    expect(error.message).toContain("Lower max tokens, or raise the key's limit on API Keys.");
    expect(upstream.requestCount).toBe(0);
  });

  it('answers the Anthropic envelope, which the Anthropic SDK maps to its typed error', async () => {
    const { secret } = await limitedKey(1_000);
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 });

    const error = await anthropic.messages
      .create({ model: 'claude-limited', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((error as Error).message).toContain('Key limit reached');
  });

  it('keeps the wallet 402 as it was, for a key without a limit on an empty wallet', async () => {
    const { secret } = await createAccountWithKey(db, { usd: 0.000001 });

    const response = await chat(secret, { model: 'gpt-limited', messages: [{ role: 'user', content: 'hi' }] });

    expect(response.status).toBe(402);
    expect((await response.json()).error.message).toMatch(/^Insufficient balance/);
  });

  it('lets a key serve again once its limit is raised, and stops it again when lowered', async () => {
    // Prepare: spend most of a $0.02 limit.
    const { secret, record } = await limitedKey(20_000_000);
    upstream.script(() => ({ usage: { inputTokens: 10, outputTokens: 1000 } }));
    const ask = () =>
      chat(secret, { model: 'gpt-limited', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] });
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(402);

    // Act: raise, then remove the limit
    await updateKey(db.stores, { keyId: record.keyId, spendLimit: 100_000_000 });
    const raised = await ask();
    await updateKey(db.stores, { keyId: record.keyId, spendLimit: null });
    const removed = await ask();

    // Assess
    expect(raised.status).toBe(200);
    expect(removed.status).toBe(200);
  });

  it('counts what the key spent earlier in the period when a limit is first set', async () => {
    // Prepare: a key without a limit spends 10 input + 1000 output tokens = $0.01503.
    const { accountId, secret, record } = await createAccountWithKey(db, { usd: RICH });
    upstream.script(() => ({ usage: { inputTokens: 10, outputTokens: 1000 } }));
    const ask = () =>
      chat(secret, { model: 'gpt-limited', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect((await ask()).status).toBe(200);
    await settledUsage(db, accountId, 1);

    // Act: a monthly limit of $0.016 leaves less than one more request's hold.
    await updateKey(db.stores, { keyId: record.keyId, spendLimit: 16_000_000, limitReset: 'monthly' });
    const refused = await ask();

    // Assess
    expect(await spendRow(accountId, record.keyId)).toEqual({ spent: 15_030_000, held: 0, used: 15_030_000 });
    expect(refused.status).toBe(402);
    expect((await refused.json()).error.message).toContain('$0.01503 is used or held');
  });
});
