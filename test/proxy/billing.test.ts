import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { quoteHold } from '../../lambdas/gateway/pricing.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens, in nano-USD per million.
const PRICES = { input: 3_000_000_000, output: 15_000_000_000, cacheRead: 300_000_000, cacheWrite: 3_750_000_000 };
const FIVE_USD = 5_000_000_000;

describe('billing: holds, exact settles, 402, races', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  const clients = (secret: string) => ({
    openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: gateway.url, apiKey: secret, maxRetries: 0 }),
  });
  const balanceOf = async (accountId: string) => (await db.stores.wallets.get(accountId))?.balance;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-priced', provider: 'openai', prices: PRICES, defaultMaxTokens: 1000 });
    await putRoute(db, { model: 'claude-priced', provider: 'anthropic', prices: PRICES });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  describe('exact cost, to the nano-USD', () => {
    // OpenAI: prompt_tokens 1200 of which 200 cached → 1000 × $3 + 200 × $0.30 + 500 × $15 per 1M
    //   = 3_000_000 + 60_000 + 7_500_000 = 10_560_000 nano-USD. Without cache: 10_500_000.
    // Anthropic: input 1000, cache read 200, cache write 40, output 500
    //   = 3_000_000 + 60_000 + 150_000 + 7_500_000 = 10_710_000 nano-USD.
    const cases = [
      { name: 'OpenAI non-stream', protocol: 'openai', stream: false, cache: false, cost: 10_500_000 },
      {
        name: 'OpenAI non-stream with cached tokens',
        protocol: 'openai',
        stream: false,
        cache: true,
        cost: 10_560_000,
      },
      { name: 'OpenAI stream', protocol: 'openai', stream: true, cache: false, cost: 10_500_000 },
      { name: 'OpenAI stream with cached tokens', protocol: 'openai', stream: true, cache: true, cost: 10_560_000 },
      { name: 'Anthropic non-stream', protocol: 'anthropic', stream: false, cache: false, cost: 10_500_000 },
      {
        name: 'Anthropic non-stream with cache tokens',
        protocol: 'anthropic',
        stream: false,
        cache: true,
        cost: 10_710_000,
      },
      { name: 'Anthropic stream', protocol: 'anthropic', stream: true, cache: false, cost: 10_500_000 },
      {
        name: 'Anthropic stream with cache tokens',
        protocol: 'anthropic',
        stream: true,
        cache: true,
        cost: 10_710_000,
      },
    ] as const;

    it.each(cases)('bills $name exactly', async ({ protocol, stream, cache, cost }) => {
      // Prepare
      const { accountId, secret } = await createAccountWithKey(db);
      const { openai, anthropic } = clients(secret);
      upstream.enqueue({
        usage: {
          inputTokens: 1000,
          outputTokens: 500,
          cachedTokens: cache ? 200 : 0,
          cacheCreationTokens: cache && protocol === 'anthropic' ? 40 : 0,
        },
      });
      // Act
      if (protocol === 'openai') {
        const params = { model: 'gpt-priced', messages: [{ role: 'user' as const, content: 'bill me' }] };
        if (stream) for await (const _ of await openai.chat.completions.create({ ...params, stream: true }));
        else await openai.chat.completions.create(params);
      } else {
        const params = {
          model: 'claude-priced',
          max_tokens: 1024,
          messages: [{ role: 'user' as const, content: 'bill me' }],
        };
        if (stream) await anthropic.messages.stream(params).finalMessage();
        else await anthropic.messages.create(params);
      }
      // Assess
      const [row] = await settledUsage(db, accountId, 1);
      expect(row?.cost).toBe(cost);
      expect(row?.outcome).toBe('completed');
      expect(row?.estimated).toBeUndefined();
      expect(row?.usage).toEqual({
        inputTokens: 1000,
        outputTokens: 500,
        cacheReadTokens: cache ? 200 : 0,
        cacheWriteTokens: cache && protocol === 'anthropic' ? 40 : 0,
      });
      expect(await balanceOf(accountId)).toBe(FIVE_USD - cost);
      expect((await audit(db, accountId)).difference).toBe(0);
    });

    it('applies the account discount and rounds up once', async () => {
      // 10_500_000 × 0.333333 = 3_499_996.5 → 3_499_997 nano-USD.
      const { accountId, secret } = await createAccountWithKey(db, { discountPpm: 333_333 });
      upstream.enqueue({ usage: { inputTokens: 1000, outputTokens: 500 } });
      await clients(secret).openai.chat.completions.create({
        model: 'gpt-priced',
        messages: [{ role: 'user', content: 'discount' }],
      });
      const [row] = await settledUsage(db, accountId, 1);
      expect(row?.cost).toBe(3_499_997);
      expect(row?.discountPpm).toBe(333_333);
      expect(await balanceOf(accountId)).toBe(FIVE_USD - 3_499_997);
    });
  });

  describe('402 billing_error', () => {
    it('refuses a request whose hold exceeds the balance, calling nothing upstream', async () => {
      const { accountId, secret } = await createAccountWithKey(db, { nano: 1_000 });
      const { openai, anthropic } = clients(secret);
      const error = await openai.chat.completions
        .create({ model: 'gpt-priced', max_completion_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'billing_error' });
      const message = (error as Error).message;
      expect(message).toMatch(
        /Insufficient balance: this request may cost up to \$0\.00\d+ \(about \d+ input tokens and up to 100 output tokens of gpt-priced\)/,
      );
      expect(message).toContain('the balance is $0.000001');
      expect(message).toContain('Top up the account or lower max_tokens');

      const anthropicError = await anthropic.messages
        .create({ model: 'claude-priced', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect((anthropicError as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
      expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        type: 'error',
        error: { type: 'billing_error' },
      });
      expect(upstream.requestCount).toBe(0);
      expect(await balanceOf(accountId)).toBe(1_000);
      expect((await db.stores.wallets.allLedgerRows(accountId)).filter((r) => r.kind === 'usage')).toEqual([]);
    });

    it('lets an account spend into its credit limit, and no further', async () => {
      const body = JSON.stringify({
        model: 'gpt-priced',
        max_tokens: 1000,
        messages: [{ role: 'user', content: 'x' }],
      });
      const hold = quoteHold(body, JSON.parse(body), { tokens: 1000, choices: 1 }, PRICES).amount;
      const { accountId, secret } = await createAccountWithKey(db, { nano: 1, creditLimitNano: hold });
      const send = () =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body,
        });
      expect((await send()).status).toBe(200);
      await settledUsage(db, accountId, 1);
      const wallet = await db.stores.wallets.get(accountId);
      expect(wallet?.balance).toBeLessThan(0);
      expect(wallet?.balance).toBeGreaterThanOrEqual(-hold);
      expect((await send()).status).toBe(402);
    });
  });

  describe('concurrency', () => {
    it('serves at most 10 of 50 concurrent streams when the balance covers exactly 10 holds', async () => {
      // Prepare: every request identical, so every worst-case hold is the same amount.
      const body = JSON.stringify({
        model: 'gpt-priced',
        stream: true,
        max_tokens: 2000,
        messages: [{ role: 'user', content: 'race' }],
      });
      const hold = quoteHold(body, JSON.parse(body), { tokens: 2000, choices: 1 }, PRICES).amount;
      const { accountId, secret } = await createAccountWithKey(db, { nano: hold * 10 });
      // The upstream answers only after 3 s, so no settle can return money while the 50 holds race.
      upstream.script(() => ({ ttfbMs: 3_000, chunkDelayMs: 10, usage: { inputTokens: 10, outputTokens: 20 } }));
      // Act
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${gateway.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body,
          }).then(async (response) => ({ status: response.status, text: await response.text() })),
        ),
      );
      // Assess
      const served = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status === 402);
      expect(responses.filter((r) => r.status !== 200 && r.status !== 402)).toEqual([]);
      expect(served.length + refused.length).toBe(50);
      expect(served.length).toBeLessThanOrEqual(10);
      expect(served.length).toBeGreaterThan(0);
      expect(refused[0]?.text).toContain('Insufficient balance');
      const rows = await settledUsage(db, accountId, served.length);
      expect(rows).toHaveLength(served.length);
      const wallet = await db.stores.wallets.get(accountId);
      expect(wallet?.balance).toBeGreaterThanOrEqual(0);
      // 10 input × $3 + 20 output × $15 per 1M = 30_000 + 300_000 = 330_000 nano-USD each.
      expect(wallet?.balance).toBe(hold * 10 - served.length * 330_000);
      expect((await audit(db, accountId)).difference).toBe(0);
    });
  });
});
