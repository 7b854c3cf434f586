import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BillingError, UpstreamConnectionError, UpstreamError } from '../../lambdas/errors.ts';
import { Billing } from '../../lambdas/gateway/billing.ts';
import { Exchange } from '../../lambdas/gateway/exchange.ts';
import { windowStart } from '../../lambdas/gateway/rate-limit.ts';
import { createReach } from '../../lambdas/gateway/reach.ts';
import { spendTerms } from '../../lambdas/gateway/spend-guard.ts';
import type { Routing } from '../../lambdas/gateway/state.ts';
import { envCredentials } from '../../lambdas/providers/credentials.ts';
import type { KeyRecord } from '../../lambdas/vocabulary.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { chatRequest, FakeCounters, FakeWallets, keyRecord, route, USD, wallet } from '../support/fakes.ts';
import { providerEnv } from '../support/gateway.ts';
import { silentLogger } from '../support/lambda.ts';

// A translator that fails on one marked answer: translators are written to read any body, so only
// a planted failure reaches the path where the gateway loses an answer the upstream produced.
vi.mock('../../lambdas/protocols/translate/chat-via-messages.ts', async (original) => {
  const actual = await original<typeof import('../../lambdas/protocols/translate/chat-via-messages.ts')>();
  return {
    ...actual,
    messagesResponseToChat: (message: Record<string, unknown>, options: { model: string }) => {
      if (message['id'] === 'msg_untranslatable') throw new Error('translator failed');
      return actual.messagesResponseToChat(message, options);
    },
  };
});

const ACCOUNT = 'acct-exchange';
const CHEAP = { input: USD, output: 2 * USD };
const DEAR = { input: 5 * USD, output: 10 * USD };

const MAIN = route('gpt-main', { provider: 'openai', upstreamModel: 'gpt-upstream', prices: CHEAP });
const BACKUP = route('backup', { provider: 'openai', upstreamModel: 'backup-upstream', prices: DEAR });
const BROKEN = route('broken', { provider: 'openai', upstreamModel: 'fail-503', prices: CHEAP });
const BAD_REQUEST = route('bad-request', { provider: 'openai', upstreamModel: 'fail-400', prices: CHEAP });
const DOWN = route('down', { provider: 'openai', upstreamModel: 'reset-before-headers', prices: CHEAP });
const FAILING = route('failing', { provider: 'openai', upstreamModel: 'fail-500', prices: CHEAP });
const SLOW = route('slow', { provider: 'openai', upstreamModel: 'ttfb-150', prices: CHEAP });

const CHAT = { model: 'ignored: the route decides', messages: [{ role: 'user', content: 'hello' }] };

/** 100 tokens in and 10 out from every upstream: $1/$2 → 120_000 nano-USD, $5/$10 → 600_000. */
const USAGE = { inputTokens: 100, outputTokens: 10 };
const BILLED_USAGE = { inputTokens: 100, outputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0 };

describe('Exchange', () => {
  let upstream: FakeUpstream;
  let requests = 0;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  beforeEach(() => {
    upstream.reset();
    upstream.script(() => ({ usage: USAGE }));
  });
  afterAll(async () => {
    await upstream?.close();
  });

  /** A wallet of `usd` and the deps of the exchanges on it (one `Billing`, as one Lambda instance has). */
  const instance = ({ usd = 5, key = keyRecord({ accountId: ACCOUNT }) }: { usd?: number; key?: KeyRecord } = {}) => {
    const wallets = new FakeWallets(wallet(ACCOUNT, usd));
    const counters = new FakeCounters();
    const env = providerEnv(upstream);
    const deps = {
      billing: new Billing({ wallets, settleRetryDelaysMs: [] }),
      forward: {
        credentials: envCredentials(env),
        env,
        reach: createReach({ local: true }),
        headersTimeoutMs: 5_000,
        idleTimeoutMs: 5_000,
        clientTimeoutMs: 5_000,
      },
      checkpointIntervalMs: 60_000,
      counters,
      logger: silentLogger(),
    };
    /** A routed request, as the middlewares hand it to the exchange. */
    const exchange = (routing: Routing, body: Record<string, unknown> = CHAT) => {
      requests += 1;
      const request = chatRequest(body);
      return new Exchange(deps, {
        requestId: `req-exchange-${requests}`,
        startedAt: Date.now(),
        startedPerf: performance.now(),
        key,
        request,
        routing,
        spend: spendTerms(request, routing.route, {}),
        deadlineAt: Date.now() + 60_000,
        clientHeaders: {},
      });
    };
    return { wallets, counters, exchange, balance: () => wallets.now(ACCOUNT).balance };
  };

  describe('a completed exchange', () => {
    it('answers, then settles once on the usage the upstream reported, giving back hold − cost', async () => {
      // Prepare
      const { wallets, exchange, balance } = instance({ usd: 5 });
      const request = exchange({ route: MAIN, fallbacks: [] });
      // Act
      const response = await request.respond();
      // Assess: answered, with the hold taken; the settle waits a turn of the event loop
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({ 'x-tollgate-route': 'gpt-main', 'x-request-id': 'req-exchange-1' });
      expect(JSON.parse(String(response.body))).toMatchObject({
        choices: [{ message: { content: 'fake reply to: hello' } }],
      });
      const [held] = [...wallets.rows.values()];
      expect(held).toMatchObject({ status: 'pending', model: 'gpt-main', requestId: 'req-exchange-1' });
      const hold = held?.hold ?? 0;
      expect(hold).toBeGreaterThan(120_000);
      expect(balance()).toBe(5 * USD - hold);
      expect(wallets.settlements).toEqual([]);

      // Act
      const report = await request.finish();
      // Assess: one settle, at the reported usage; the rest of the hold is back
      expect(report.settlement).toMatchObject({ outcome: 'completed', cost: 120_000, usage: BILLED_USAGE });
      expect(wallets.settlements).toHaveLength(1);
      expect(wallets.settlements[0]?.settlement).toEqual(report.settlement);
      expect(balance()).toBe(5 * USD - 120_000);
    });

    it('streams the answer, and settles once the upstream has been read to its end', async () => {
      const { wallets, exchange, balance } = instance();
      const request = exchange(
        { route: MAIN, fallbacks: [] },
        { ...CHAT, stream: true, stream_options: { include_usage: true } },
      );
      const response = await request.respond();
      expect(response.headers['content-type']).toContain('text/event-stream');
      const streamed = await text(response.body as Readable);
      expect(streamed).toContain('data: [DONE]');
      const report = await request.finish();
      expect(report.settlement).toMatchObject({ outcome: 'completed', cost: 120_000, usage: BILLED_USAGE });
      expect(wallets.settlements).toHaveLength(1);
      expect(balance()).toBe(5 * USD - 120_000);
    });

    it('counts the tokens against the window the request started in, for a key with a tokens-per-minute limit', async () => {
      const key = keyRecord({ accountId: ACCOUNT, keyId: 'key_tpm', tpm: 10_000 });
      const { counters, exchange } = instance({ key });
      const request = exchange({ route: MAIN, fallbacks: [] });
      const startedAt = Date.now();
      await request.respond();
      await request.finish();
      expect(counters.tokenCalls).toEqual([{ keyId: 'key_tpm', windowStart: expect.any(Number), tokens: 110 }]);
      expect([windowStart(startedAt), windowStart(Date.now())]).toContain(counters.tokenCalls[0]?.windowStart);
    });

    it('counts no tokens for a key without a tokens-per-minute limit', async () => {
      const { counters, exchange } = instance();
      const request = exchange({ route: MAIN, fallbacks: [] });
      await request.respond();
      await request.finish();
      expect(counters.tokenCalls).toEqual([]);
    });
  });

  describe('fallbacks', () => {
    it('falls back to the next route on an upstream 5xx and bills the route that answered', async () => {
      // Prepare
      const { exchange, balance } = instance();
      const request = exchange({ route: BROKEN, fallbacks: [BACKUP] });
      // Act
      const response = await request.respond();
      const report = await request.finish();
      // Assess
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-tollgate-route']).toBe('backup');
      expect(upstream.requests.map((seen) => seen.model)).toEqual(['fail-503', 'backup-upstream']);
      expect(report.settlement).toMatchObject({
        outcome: 'completed',
        model: 'backup',
        provider: 'openai',
        upstreamModel: 'backup-upstream',
        fallbackFrom: 'broken',
        prices: DEAR,
        cost: 600_000,
      });
      expect(balance()).toBe(5 * USD - 600_000);
    });

    it('holds for the dearest route it may fall back to', async () => {
      const cheapOnly = instance();
      await cheapOnly.exchange({ route: MAIN, fallbacks: [] }).respond();
      const withDearFallback = instance();
      await withDearFallback.exchange({ route: MAIN, fallbacks: [BACKUP] }).respond();
      const holdOf = (wallets: FakeWallets) => [...wallets.rows.values()][0]?.hold ?? 0;
      expect(holdOf(withDearFallback.wallets)).toBeGreaterThan(4 * holdOf(cheapOnly.wallets));
    });

    it('does not fall back on an upstream 4xx: the client gets it, and nothing is charged', async () => {
      const { exchange, balance } = instance();
      const request = exchange({ route: BAD_REQUEST, fallbacks: [BACKUP] });
      await expect(request.respond()).rejects.toMatchObject({ status: 400 });
      expect(upstream.requests.map((seen) => seen.model)).toEqual(['fail-400']);
      expect((await request.finish()).settlement).toEqual({ outcome: 'upstream_error', cost: 0 });
      expect(balance()).toBe(5 * USD);
    });
  });

  describe('a refused hold', () => {
    it('answers 402, calls nothing upstream and settles nothing', async () => {
      // Prepare: $0.001 cannot cover 4,096 output tokens at $2 per million
      const { wallets, exchange, balance } = instance({ usd: 0.001 });
      const request = exchange({ route: MAIN, fallbacks: [] });
      // Act
      const refused = request.respond();
      // Assess
      await expect(refused).rejects.toBeInstanceOf(BillingError);
      await expect(refused).rejects.toMatchObject({ status: 402 });
      expect(upstream.requestCount).toBe(0);
      expect(await request.finish()).toEqual({});
      expect(wallets.settlements).toEqual([]);
      expect(wallets.rows.size).toBe(0);
      expect(balance()).toBe(0.001 * USD);
    });

    it('answers 402 and settles nothing when the wallet was spent since this instance last read it', async () => {
      // Prepare: a first request leaves this instance believing the wallet is rich…
      const { wallets, exchange, balance } = instance({ usd: 5 });
      const first = exchange({ route: MAIN, fallbacks: [] });
      await first.respond();
      await first.finish();
      // …then another instance spends it all.
      wallets.drain(ACCOUNT);
      const request = exchange({ route: MAIN, fallbacks: [] });
      // Act
      const refused = request.respond();
      // Assess: the hold overlapped the upstream call, so the call may have gone out; it is cancelled
      await expect(refused).rejects.toBeInstanceOf(BillingError);
      expect(await request.finish()).toEqual({});
      expect(wallets.settlements).toHaveLength(1); // the first request's only
      expect(wallets.rows.size).toBe(1);
      expect(balance()).toBe(5 * USD - 120_000 - wallets.now(ACCOUNT).spendable - (5 * USD - 120_000));
    });
  });

  describe('an upstream that fails before answering', () => {
    it.each([
      ['cannot be reached', DOWN, UpstreamConnectionError, 502],
      ['answers 500', FAILING, UpstreamError, 500],
    ])(
      '(one that %s) is settled as upstream_error at cost 0, the whole hold given back',
      async (_name, failing, type, status) => {
        // Prepare
        const { wallets, exchange, balance } = instance();
        const request = exchange({ route: failing, fallbacks: [] });
        // Act
        const failed = request.respond();
        // Assess
        await expect(failed).rejects.toBeInstanceOf(type);
        await expect(failed).rejects.toMatchObject({ status });
        const report = await request.finish();
        expect(report).toEqual({ settlement: { outcome: 'upstream_error', cost: 0 } });
        expect(wallets.settlements).toHaveLength(1);
        expect(balance()).toBe(5 * USD);
      },
    );

    it('is settled as upstream_error when every fallback fails too, billed at the route first chosen', async () => {
      const { wallets, exchange } = instance();
      const request = exchange({ route: BROKEN, fallbacks: [DOWN] });
      await expect(request.respond()).rejects.toBeInstanceOf(UpstreamConnectionError);
      expect((await request.finish()).settlement).toEqual({ outcome: 'upstream_error', cost: 0 });
      expect([...wallets.rows.values()][0]).toMatchObject({ model: 'broken', status: 'final' });
    });
  });

  describe('an answer the gateway fails to pass on', () => {
    it('answers 500 and still settles on the usage the upstream reported', async () => {
      // Prepare: a Claude answer the chat translator fails on.
      const claude = route('claude-odd', { provider: 'anthropic', upstreamModel: 'claude-upstream', prices: CHEAP });
      upstream.script(() => ({
        body: {
          id: 'msg_untranslatable',
          type: 'message',
          role: 'assistant',
          content: [{ type: 'text', text: 'hi' }],
          usage: { input_tokens: 100, output_tokens: 10 },
        },
      }));
      const { wallets, exchange, balance } = instance();
      const request = exchange({ route: claude, fallbacks: [] });
      // Act
      await expect(request.respond()).rejects.toMatchObject({ status: 500 });
      const report = await request.finish();
      // Assess: the upstream did the work, so the account pays for it
      expect(report.settlement).toMatchObject({ outcome: 'upstream_error', cost: 120_000 });
      expect(wallets.settlements).toHaveLength(1);
      expect(balance()).toBe(5 * USD - 120_000);
    });
  });

  describe('finish()', () => {
    it("reports the upstream's time to headers and the gateway's own overhead, as the header says", async () => {
      const { exchange } = instance();
      const request = exchange({ route: SLOW, fallbacks: [] });
      const response = await request.respond();
      const report = await request.finish();
      // The fake upstream waits 150 ms before its headers: that time is the upstream's, not ours.
      expect(report.upstreamTtfbMs).toBeGreaterThanOrEqual(140);
      expect(report.overheadMs).toBeGreaterThanOrEqual(0);
      expect(report.overheadMs).toBeLessThan(report.upstreamTtfbMs ?? 0);
      expect(response.headers['x-tollgate-overhead-ms']).toBe(report.overheadMs?.toFixed(3));
      expect(report.settlement?.outcome).toBe('completed');
    });

    it('reports no upstream timing when no upstream answered', async () => {
      const { exchange } = instance();
      const request = exchange({ route: DOWN, fallbacks: [] });
      await expect(request.respond()).rejects.toThrow();
      const report = await request.finish();
      expect(report).not.toHaveProperty('upstreamTtfbMs');
      expect(report).not.toHaveProperty('overheadMs');
    });
  });
});
