import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatUsd } from '../../lambdas/gateway/money.ts';
import { updateKey } from '../../lambdas/services/keys.ts';
import { createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $3 in, $15 out per million tokens; 10 in + 1000 out = 30_000 + 15_000_000 nano-USD at list price.
const PRICES = { input: 3_000_000_000, output: 15_000_000_000 };

describe('GET /v1/key and GET /v1/generation', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  const get = (secret: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${secret}`, ...headers } });
  const ask = (secret: string) =>
    gateway.post(secret, '/v1/chat/completions', {
      model: 'gpt-key',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hi' }],
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-key', provider: 'openai', prices: PRICES });
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => {
    upstream.reset();
    upstream.script(() => ({ usage: { inputTokens: 10, outputTokens: 1000 } }));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  describe('GET /v1/key', () => {
    it("shows the key's limit, what is left, its reset and what it spent, in OpenRouter's field names", async () => {
      // Prepare: a 20% discount; one request costs 15_030_000 × 0.8 = 12_024_000 nano-USD.
      const { accountId, secret, record } = await createAccountWithKey(db, {
        usd: 100,
        discountPpm: 800_000,
        name: 'cline',
        models: ['gpt-key'],
      });
      await updateKey(db.stores, { keyId: record.keyId, spendLimit: 20_000_000_000, limitReset: 'monthly', rpm: 60 });
      expect((await ask(secret)).status).toBe(200);
      await settledUsage(db, accountId, 1);

      // Act
      const response = await get(secret, '/v1/key');

      // Assess
      expect(response.status).toBe(200);
      const { data } = await response.json();
      expect(data).toMatchObject({
        key_id: record.keyId,
        name: 'cline',
        label: `${record.prefix}…`,
        limit: 20,
        limit_usd: '20.00',
        limit_nano: 20_000_000_000,
        limit_remaining: 19.987976,
        limit_remaining_usd: '19.987976',
        limit_remaining_nano: 19_987_976_000,
        limit_reset: 'monthly',
        limit_spent_usd: '0.012024',
        limit_spent_nano: 12_024_000,
        limit_held_usd: '0.00',
        limit_held_nano: 0,
        usage: 0.012024,
        usage_nano: 12_024_000,
        usage_daily: 0.012024,
        usage_daily_usd: '0.012024',
        usage_weekly: 0.012024,
        usage_monthly: 0.012024,
        is_free_tier: false,
        rate_limit: { requests: 60, interval: '1m' },
        rpm: 60,
        tpm: null,
        models: ['gpt-key'],
        expires_at: null,
      });
      expect(data.limit_period_started_at).toBe(`${new Date().toISOString().slice(0, 7)}-01T00:00:00.000Z`);
      expect(data.limit_resets_at).toMatch(/^\d{4}-\d{2}-01T00:00:00\.000Z$/);
      expect(JSON.stringify(data)).not.toContain(record.keyHash);
    });

    it('answers null limits for a key without one, and zero usage for a new key', async () => {
      const { secret } = await createAccountWithKey(db);

      const { data } = await (await get(secret, '/v1/key')).json();

      expect(data).toMatchObject({
        limit: null,
        limit_remaining: null,
        limit_reset: null,
        usage: 0,
        usage_daily: 0,
        rate_limit: null,
        models: null,
      });
    });

    it('refuses a missing or revoked key with 401, in the Anthropic envelope when asked in Anthropic', async () => {
      const { secret, record } = await createAccountWithKey(db);
      await db.stores.keys.revoke(record.keyId);

      const openai = await get(secret, '/v1/key');
      const anthropic = await fetch(`${gateway.url}/v1/key`, {
        headers: { 'x-api-key': 'sk-nothing', 'anthropic-version': '2023-06-01' },
      });

      expect(openai.status).toBe(401);
      expect((await openai.json()).error.type).toBe('authentication_error');
      expect(anthropic.status).toBe(401);
      expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    });
  });

  describe('GET /v1/generation', () => {
    it('answers the ledger row of a request by its x-request-id, with its exact cost', async () => {
      // Prepare
      const { accountId, secret, record } = await createAccountWithKey(db, { usd: 10, discountPpm: 800_000 });
      const answer = await ask(secret);
      const id = answer.headers.get('x-request-id') as string;
      const [row] = await settledUsage(db, accountId, 1);

      // Act
      const response = await get(secret, `/v1/generation?id=${encodeURIComponent(id)}`);

      // Assess
      expect(id).toMatch(/^gen-\d{13}-/);
      expect(row?.requestId).toBe(id);
      expect(response.status).toBe(200);
      const { data } = await response.json();
      expect(data).toMatchObject({
        type: 'usage',
        id,
        status: 'final',
        outcome: 'completed',
        model: 'gpt-key',
        key_id: record.keyId,
        cost_nano: 12_024_000,
        cost_usd: formatUsd(12_024_000),
        total_cost: 0.012024,
      });
      expect(row?.cost).toBe(12_024_000);
    });

    it("is 404 for another account's request id, exactly as for an id that never was", async () => {
      // Prepare: A makes a request; B, on another account, asks for it.
      const a = await createAccountWithKey(db);
      const b = await createAccountWithKey(db);
      const id = (await ask(a.secret)).headers.get('x-request-id') as string;
      await settledUsage(db, a.accountId, 1);
      const never = `gen-${Date.now()}-00000000-0000-4000-8000-000000000000`;

      // Act
      const foreign = await get(b.secret, `/v1/generation?id=${encodeURIComponent(id)}`);
      const unknown = await get(b.secret, `/v1/generation?id=${encodeURIComponent(never)}`);
      const own = await get(a.secret, `/v1/generation?id=${encodeURIComponent(id)}`);

      // Assess
      expect(foreign.status).toBe(404);
      const foreignBody = await foreign.json();
      expect(foreignBody.error.type).toBe('not_found_error');
      expect(JSON.stringify(foreignBody)).not.toContain(a.accountId);
      expect(unknown.status).toBe(404);
      expect((await unknown.json()).error.message).toBe(foreignBody.error.message.replace(id, never));
      expect(own.status).toBe(200);
    });

    it.each([
      ['', 400],
      ['?id=', 400],
      ['?id=not-a-request-id', 404],
      ['?id=gen-1-x', 404],
      [`?id=${encodeURIComponent('gen-9999999999999-x')}`, 404],
      [`?id=${encodeURIComponent('2026-12-03T00:00:00.000Z#x')}`, 404],
      [`?id=${'gen-1764720000000-'.padEnd(5000, 'a')}`, 404],
    ])('answers %s with %i and never a 500', async (query, status) => {
      const { secret } = await createAccountWithKey(db);

      const response = await get(secret, `/v1/generation${query}`);

      expect(response.status).toBe(status);
      const body = await response.json();
      expect(body.error.type).toBe(status === 400 ? 'invalid_request_error' : 'not_found_error');
      expect(body.error.message.length).toBeLessThan(400);
    });

    it('does not read the roll-ups, spend rows or alerts that share the ledger partition', async () => {
      const { accountId, secret } = await createAccountWithKey(db);
      await db.stores.wallets.restartKeySpend(accountId, 'keyspend#key_x#never', 'key_x', 5);

      const response = await get(secret, `/v1/generation?id=${encodeURIComponent('keyspend#key_x#never')}`);

      expect(response.status).toBe(404);
    });
  });
});
