import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $1 in, $2 out per million tokens.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const FIVE_USD = 5_000_000_000;

describe('outcomes that must still be billed right', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  const post = (secret: string, path: string, body: Record<string, unknown>, signal?: AbortSignal) =>
    gateway.post(secret, path, body, signal ? { signal } : {});
  const chat = (model: string, stream = true) => ({ model, stream, messages: [{ role: 'user', content: 'hello' }] });
  const message = (model: string) => ({
    model,
    stream: true,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello' }],
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    for (const [model, provider] of [
      ['gpt', 'openai'],
      ['claude', 'anthropic'],
    ] as const) {
      await putRoute(db, { model, provider, prices: PRICES, defaultMaxTokens: 100 });
      for (const magic of ['fail-500', 'reset-mid-stream', 'no-usage']) {
        await putRoute(db, {
          model: `${model}-${magic}`,
          provider,
          upstreamModel: magic,
          prices: PRICES,
          defaultMaxTokens: 100,
        });
      }
    }
    gateway = await startTestGateway(db, providerEnv(upstream));
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('releases the hold in full when the upstream fails before any output', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    expect((await post(secret, '/v1/chat/completions', chat('gpt-fail-500'))).status).toBe(500);
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({ outcome: 'upstream_error', cost: 0 });
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD);
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it('bills the usage known so far when an Anthropic stream dies mid-way, and marks the row', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    const response = await post(secret, '/v1/messages', message('claude-reset-mid-stream'));
    expect(await response.text()).toContain('event: error');
    const [row] = await settledUsage(db, accountId, 1);
    // message_start reported 10 input tokens; the output counted is what was streamed before the cut.
    expect(row?.outcome).toBe('upstream_error');
    expect(row?.usage?.inputTokens).toBe(10);
    expect(row?.estimated).toBe(true);
    expect(row?.cost).toBe(10 * 1_000 + (row?.usage?.outputTokens ?? 0) * 2_000);
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it('bills the streamed output by the estimate when an OpenAI stream dies before its usage chunk', async () => {
    const { accountId, secret } = await createAccountWithKey(db);
    const body = chat('gpt-reset-mid-stream');
    const text = await (await post(secret, '/v1/chat/completions', body)).text();
    expect(text).toContain('Upstream connection failed mid-stream');
    const [row] = await settledUsage(db, accountId, 1);
    // Output reached the client, so the request is not free: request characters / 4 in, streamed
    // characters / 4 out, never more than the hold.
    expect(row).toMatchObject({ outcome: 'upstream_error', estimated: true });
    const outputTokens = row?.usage?.outputTokens ?? 0;
    expect(outputTokens).toBeGreaterThan(0);
    expect(row?.usage?.inputTokens).toBe(Math.ceil(JSON.stringify(body).length / 4));
    expect(row?.cost).toBe((row?.usage?.inputTokens ?? 0) * 1_000 + outputTokens * 2_000);
    expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - (row?.cost ?? 0));
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  it.each([
    ['OpenAI', 'gpt-no-usage', '/v1/chat/completions'],
    ['Anthropic', 'claude-no-usage', '/v1/messages'],
  ])(
    'bills an %s answer that reported no usage by the documented estimate, marked estimated',
    async (_name, model, path) => {
      const { accountId, secret } = await createAccountWithKey(db);
      const body = path === '/v1/messages' ? message(model) : chat(model);
      const text = await (await post(secret, path, body)).text();
      const [row] = await settledUsage(db, accountId, 1);
      // Input: request characters / 4; output: streamed answer characters / 4 ("fake reply to: hello").
      const inputTokens = Math.ceil(JSON.stringify(body).length / 4);
      const outputTokens = Math.ceil('fake reply to: hello'.length / 4);
      expect(text.length).toBeGreaterThan(0);
      expect(row).toMatchObject({ outcome: 'completed', estimated: true, usage: { inputTokens, outputTokens } });
      expect(row?.cost).toBe(inputTokens * 1_000 + outputTokens * 2_000);
      expect((await audit(db, accountId)).difference).toBe(0);
    },
  );

  it('keeps reading after the client hangs up and bills the full reported usage as client_disconnected', async () => {
    // Prepare: a slow stream whose usage only arrives in its last chunk.
    const { accountId, secret } = await createAccountWithKey(db);
    upstream.enqueue({
      chunks: Array.from({ length: 12 }, (_, i) => `part${i} `),
      chunkDelayMs: 30,
      usage: { inputTokens: 1234, outputTokens: 567 },
    });
    const hangUp = new AbortController();
    // Act: read the first bytes, then cut the socket.
    const response = await post(
      secret,
      '/v1/chat/completions',
      { ...chat('gpt'), stream_options: { include_usage: true } },
      hangUp.signal,
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    hangUp.abort();
    // Assess
    const [row] = await settledUsage(db, accountId, 1);
    expect(row).toMatchObject({
      outcome: 'client_disconnected',
      usage: { inputTokens: 1234, outputTokens: 567, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    expect(row?.estimated).toBeUndefined();
    const cost = 1234 * 1_000 + 567 * 2_000;
    expect(row?.cost).toBe(cost);
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - cost);
    expect((await audit(db, accountId)).difference).toBe(0);
  });

  describe('GET /v1/wallet', () => {
    it("shows the key's balance and its ledger, newest first, page by page", async () => {
      const { accountId, secret } = await createAccountWithKey(db);
      upstream.enqueue(
        { usage: { inputTokens: 100, outputTokens: 50 } },
        { usage: { inputTokens: 200, outputTokens: 10 } },
      );
      await (await post(secret, '/v1/chat/completions', chat('gpt', false))).text();
      await (await post(secret, '/v1/chat/completions', chat('gpt', false))).text();
      await settledUsage(db, accountId, 2);
      const get = (query = '') =>
        fetch(`${gateway.url}/v1/wallet${query}`, { headers: { authorization: `Bearer ${secret}` } });

      const page = (await (await get('?limit=2')).json()) as {
        balance_usd: string;
        currency: string;
        ledger: {
          data: { type: string; cost_usd?: string; amount_usd: string }[];
          has_more: boolean;
          next_cursor: string;
        };
      };
      // 200×$1 + 10×$2 per 1M = 220_000; 100×$1 + 50×$2 = 200_000 nano-USD.
      expect(page.currency).toBe('USD');
      expect(page.balance_usd).toBe('4.99958');
      expect(page.ledger.data).toMatchObject([
        { type: 'usage', cost_usd: '0.00022', amount_usd: '-0.00022' },
        { type: 'usage', cost_usd: '0.0002', amount_usd: '-0.0002' },
      ]);
      expect(page.ledger.has_more).toBe(true);
      const next = (await (await get(`?limit=2&cursor=${encodeURIComponent(page.ledger.next_cursor)}`)).json()) as {
        ledger: { data: { type: string; amount_usd: string }[]; has_more: boolean };
      };
      expect(next.ledger.data).toMatchObject([{ type: 'topup', amount_usd: '5.00' }]);
      expect(next.ledger.has_more).toBe(false);

      const bad = await get('?limit=0');
      expect(bad.status).toBe(400);
      expect((await fetch(`${gateway.url}/v1/wallet`)).status).toBe(401);
    });
  });

  describe('the sweeper', () => {
    /** A pending hold as a request leaves it in the ledger, taken at `atMs`. */
    const pendingHold = (accountId: string, keyId: string, requestId: string, hold: number, atMs: number) => {
      const at = new Date(atMs).toISOString();
      return db.stores.wallets.hold({
        accountId,
        sk: `${at}#${requestId}`,
        kind: 'usage',
        requestId,
        status: 'pending',
        hold,
        model: 'gpt',
        provider: 'openai',
        upstreamModel: 'gpt',
        keyId,
        at,
        prices: PRICES,
        discountPpm: 1_000_000,
      });
    };

    it('releases a hold no request will settle, exactly once', async () => {
      // Prepare: a hold as a request that died would leave it.
      const { accountId, record } = await createAccountWithKey(db);
      await pendingHold(accountId, record.keyId, 'dead-request', 123_456, Date.now() - 20 * 60_000);
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - 123_456);
      // Act
      const first = await sweepExpiredHolds(db.stores.wallets);
      const second = await sweepExpiredHolds(db.stores.wallets);
      // Assess
      expect(first.released).toBeGreaterThanOrEqual(1);
      expect(second.released).toBe(0);
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'expired_hold', cost: 0, status: 'final' });
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD);
      expect((await audit(db, accountId)).difference).toBe(0);
    });

    it('leaves a young hold alone', async () => {
      const { accountId, record } = await createAccountWithKey(db);
      await pendingHold(accountId, record.keyId, 'live-request', 1_000, Date.now());
      await sweepExpiredHolds(db.stores.wallets);
      const rows = await db.stores.wallets.allLedgerRows(accountId);
      expect(rows.find((row) => row.kind === 'usage')).toMatchObject({ status: 'pending' });
    });
  });
});
