import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProxyHandler } from '../../lambdas/app.ts';
import { configFromEnv } from '../../lambdas/gateway/config.ts';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import { envCredentials } from '../../lambdas/providers/credentials.ts';
import { createReporter } from '../../lambdas/reports/reporter.ts';
import { createFunctionUrlServer, installLambdaGlobals } from '../../lambdas/runtime/function-url.ts';
import { keyUsageReader } from '../../lambdas/services/keys.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { ProxyMetric } from '../../lib/metrics.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';

// $1 in, $2 out per million tokens.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const FIVE_USD = 5_000_000_000;
const TIME_LIMIT = "The request reached the gateway's time limit";

/** 40 words, one every 100 ms: a stream of 4 s, far past the deadlines below. */
const SLOW_STREAM = {
  chunks: Array.from({ length: 40 }, (_, index) => `word${index} `),
  chunkDelayMs: 100,
  usage: { inputTokens: 50, outputTokens: 80 },
};

const sseEvents = (body: string): EventSourceMessage[] => {
  const events: EventSourceMessage[] = [];
  createParser({ onEvent: (event) => events.push(event) }).feed(body);
  return events;
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The account's one usage row as it is now, pending or not. */
const usageRowOf = async (db: TestDatabase, accountId: string): Promise<UsageRow | undefined> =>
  (await db.stores.wallets.allLedgerRows(accountId)).find((row): row is UsageRow => row.kind === 'usage');

/** Polls until `probe` answers something, or fails after `timeoutMs`. */
const waitFor = async <T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
};

const post = (url: string, secret: string, path: string, body: Record<string, unknown>) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const chat = (model: string, stream = true) => ({
  model,
  stream,
  max_tokens: 200,
  messages: [{ role: 'user', content: 'talk slowly' }],
});

/**
 * No request outlives its hold (issue 10): each exchange ends at a deadline before its invocation or
 * its hold expires, settled with what is known; a long stream checkpoints its running cost, and the
 * sweeper charges that checkpoint to a request that died.
 */
describe('deadlines and checkpoints', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
    await putRoute(db, { model: 'claude', provider: 'anthropic', upstreamModel: 'claude-upstream', prices: PRICES });
    await putRoute(db, { model: 'backup', provider: 'openai', upstreamModel: 'backup-upstream', prices: PRICES });
    await putRoute(db, {
      model: 'slow-main',
      provider: 'openai',
      upstreamModel: 'ttfb-3000',
      prices: PRICES,
      fallbacks: ['backup'],
    });
  });
  beforeEach(() => upstream.reset());
  afterAll(async () => {
    await upstream?.close();
  });

  describe('a gateway whose holds expire after 2 s, ending requests 1 s before', () => {
    let gateway: TestGateway;

    beforeAll(async () => {
      gateway = await startTestGateway(db, {
        ...providerEnv(upstream),
        TOLLGATE_HOLD_EXPIRY: '2',
        TOLLGATE_DEADLINE_MARGIN: '1',
        // Far longer than the deadline: a stalled client must not hold the request past it.
        TOLLGATE_CLIENT_TIMEOUT: '10',
      });
    });
    afterAll(async () => {
      await gateway?.close();
    });

    it.each([
      ['/v1/chat/completions', 'gpt', 'passed through'],
      ['/v1/chat/completions', 'claude', 'translated from Anthropic'],
      ['/v1/messages', 'claude', 'passed through'],
      ['/v1/messages', 'gpt', 'translated from OpenAI chat'],
    ] as const)(
      'ends a %s stream on %s (%s) at the deadline with the in-stream error, settled before the hold expires',
      async (path, model, _how) => {
        // Prepare
        const { accountId, secret } = await createAccountWithKey(db);
        upstream.enqueue(SLOW_STREAM);
        const startedAt = Date.now();
        // Act
        const body = await (await post(gateway.url, secret, path, chat(model))).text();
        const endedAt = Date.now();
        // Assess: cut at about 1 s, with some words out and the protocol's error last
        expect(endedAt - startedAt).toBeGreaterThanOrEqual(900);
        expect(endedAt - startedAt).toBeLessThan(2_000);
        expect(body).toContain('word0');
        expect(body).not.toContain('word39');
        const last = sseEvents(body)
          .filter((event) => event.data !== '[DONE]')
          .at(-1);
        expect(last?.data).toContain(TIME_LIMIT);
        if (path === '/v1/messages') expect(last?.event).toBe('error');
        const [row] = await settledUsage(db, accountId, 1);
        expect(row).toMatchObject({ status: 'final', outcome: 'upstream_error', estimated: true });
        expect(Date.parse(row?.settledAt ?? '') - Date.parse(row?.at ?? '')).toBeLessThan(2_000);
        expect(row?.cost).toBeGreaterThan(0);
        expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
        expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - (row?.cost ?? 0));
        expect((await audit(db, accountId)).difference).toBe(0);
        // The sweeper, once the hold has expired, finds nothing left to do
        await sweepExpiredHolds(db.stores.wallets, { expiryMs: 2_000, now: startedAt + 2_100 });
        expect(await usageRowOf(db, accountId)).toEqual(row);
      },
    );

    it('drops a client that stopped reading when the deadline comes, and settles before the hold expires', async () => {
      // Prepare: 12 MB of answer, more than the buffers between the gateway and a client hold
      const { accountId, secret } = await createAccountWithKey(db);
      upstream.enqueue({
        chunks: Array.from({ length: 3_000 }, () => 'z'.repeat(4_000)),
        usage: { inputTokens: 50, outputTokens: 80 },
      });
      const startedAt = Date.now();
      // Act: read the first 16 kB (a few events of text), then stop reading
      const { received, close } = await new Promise<{ received: number; close: () => void }>((resolve, reject) => {
        const outgoing = request(
          `${gateway.url}/v1/chat/completions`,
          { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' } },
          (response) => {
            let bytes = 0;
            const stop = () => {
              response.off('data', onData);
              response.pause();
              resolve({ received: bytes, close: () => outgoing.destroy() });
            };
            const onData = (chunk: Buffer) => {
              bytes += chunk.length;
              if (bytes >= 16_000) stop();
            };
            response.on('data', onData);
            response.once('end', stop); // ended before (the assertions below say so)
          },
        );
        outgoing.on('error', reject);
        outgoing.end(JSON.stringify(chat('gpt')));
      });
      // Assess: settled at the deadline, not after the 10 s client timeout; output reached the client, so billed
      try {
        const [row] = await settledUsage(db, accountId, 1, 5_000);
        expect(received).toBeGreaterThanOrEqual(16_000);
        expect(Date.parse(row?.settledAt ?? '') - startedAt).toBeLessThan(2_000);
        expect(row?.cost).toBeGreaterThan(0);
        expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
        expect((await audit(db, accountId)).difference).toBe(0);
      } finally {
        close();
      }
    });

    it('answers a non-stream request still waiting at the deadline with an error, and charges nothing', async () => {
      const { accountId, secret } = await createAccountWithKey(db);
      upstream.enqueue({ ttfbMs: 3_000 });
      const startedAt = Date.now();
      const response = await post(gateway.url, secret, '/v1/chat/completions', chat('gpt', false));
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(await response.json()).toMatchObject({ error: { type: 'api_error' } });
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'upstream_error', cost: 0 });
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD);
      expect((await audit(db, accountId)).difference).toBe(0);
    });

    it('calls no fallback once the deadline has passed: it could neither answer nor be billed', async () => {
      const { accountId, secret } = await createAccountWithKey(db);
      const response = await post(gateway.url, secret, '/v1/chat/completions', chat('slow-main', false));
      expect(response.status).toBeGreaterThanOrEqual(500);
      await response.text();
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'upstream_error', cost: 0 });
      await sleep(200); // a fallback call, if any, would reach the fake upstream by now
      expect(upstream.requests.map((request) => request.model)).toEqual(['ttfb-3000']);
    });
  });

  it("ends a stream before the Lambda invocation's own time runs out, less the margin", async () => {
    // Prepare: a function URL whose invocations time out after 2.5 s; holds expire in 16 minutes
    const { accountId, secret } = await createAccountWithKey(db);
    installLambdaGlobals();
    const env = { ...providerEnv(upstream), TOLLGATE_DEADLINE_MARGIN: '1' };
    const logger = new Logger({ serviceName: 'tollgate-test', logLevel: 'SILENT' });
    const handler = createProxyHandler({
      ...db.stores,
      keyUsage: keyUsageReader(db.stores),
      credentials: envCredentials(env),
      reporter: createReporter({ publish: async () => undefined }),
      logger,
      config: { ...configFromEnv(env), keyCacheTtlMs: 0, negativeKeyCacheTtlMs: 0, routeCacheTtlMs: 0 },
      env,
      reach: { local: true },
    });
    const server = createFunctionUrlServer({ handler, timeoutMs: 2_500 });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      upstream.enqueue(SLOW_STREAM);
      const startedAt = Date.now();
      // Act
      const body = await (await post(url, secret, '/v1/chat/completions', chat('gpt'))).text();
      // Assess: ended at about 1.5 s (2.5 s − 1 s) by the gateway, not killed by the runtime
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_300);
      expect(Date.now() - startedAt).toBeLessThan(2_500);
      expect(body).toContain(TIME_LIMIT);
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({ outcome: 'upstream_error', estimated: true });
      expect(row?.cost).toBeGreaterThan(0);
      expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
      expect((await audit(db, accountId)).difference).toBe(0);
    } finally {
      await new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      });
    }
  });

  describe('a gateway that checkpoints every 0.1 s', () => {
    let gateway: TestGateway;
    const logger = new Logger({ serviceName: 'tollgate-test', logLevel: 'SILENT' });
    let published: Map<string, number>[];

    beforeAll(async () => {
      published = [];
      let current = new Map<string, number>();
      const metrics = {
        addMetric: (name: string, _unit: unknown, value: number) => void current.set(name, value),
        publishStoredMetrics: () => {
          published.push(current);
          current = new Map();
        },
      };
      gateway = await startTestGateway(
        db,
        { ...providerEnv(upstream), TOLLGATE_CHECKPOINT_INTERVAL: '0.1' },
        {},
        { logger, metrics: metrics as never },
      );
    });
    afterAll(async () => {
      await gateway?.close();
    });

    it('writes the running cost onto the pending row, and the sweeper charges it when the request outlives its hold; the late settle changes nothing', async () => {
      // Prepare
      const { accountId, secret } = await createAccountWithKey(db);
      const info = vi.spyOn(logger, 'info');
      const warn = vi.spyOn(logger, 'warn');
      upstream.enqueue({ ...SLOW_STREAM, chunkDelayMs: 50 });
      const response = await post(gateway.url, secret, '/v1/chat/completions', chat('gpt'));
      const reading = response.text();
      // Act 1: the stream runs; its row stays pending, with a checkpoint that only rises
      const first = await waitFor(async () => {
        const row = await usageRowOf(db, accountId);
        return row?.status === 'pending' && (row.checkpoint ?? 0) > 0 ? row : undefined;
      });
      const later = await waitFor(async () => {
        const row = await usageRowOf(db, accountId);
        return row?.status === 'pending' && (row.checkpoint ?? 0) > (first.checkpoint ?? 0) ? row : undefined;
      });
      expect(later.checkpoint).toBeLessThanOrEqual(later.hold);
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - later.hold);
      // Act 2: the invocation "dies" — the sweeper runs as if the hold had expired long ago
      const swept = await sweepExpiredHolds(db.stores.wallets, { now: Date.now() + 60 * 60_000 });
      expect(swept).toMatchObject({ charged: 1, released: 0 });
      const charged = await usageRowOf(db, accountId);
      expect(charged).toMatchObject({ status: 'final', outcome: 'expired_hold', estimated: true });
      // The checkpoint the sweeper read: at least the one seen above (another may land in between)
      const cost = charged?.cost ?? 0;
      expect(cost).toBeGreaterThanOrEqual(Math.min(later.checkpoint ?? 0, later.hold));
      expect(cost).toBeLessThanOrEqual(Math.min(charged?.checkpoint ?? 0, later.hold));
      // Act 3: the stream ends and the request settles late
      expect(await reading).toContain('data: [DONE]');
      await waitFor(async () => (warn.mock.calls.length > 0 ? true : undefined));
      // Assess: the late settle changed nothing, and nothing reports a charge it did not make
      expect(await usageRowOf(db, accountId)).toEqual(charged);
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - (charged?.cost ?? 0));
      expect((await audit(db, accountId)).difference).toBe(0);
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining('already final'),
        expect.objectContaining({ accountId, wouldHaveCharged: 50 * 1_000 + 80 * 2_000 }),
      );
      expect(info.mock.calls.filter(([message]) => message === 'request settled')).toEqual([]);
      await sleep(100); // the request's metrics are published right after its settle
      const batch = published.at(-1);
      expect(batch?.get(ProxyMetric.Requests)).toBe(1);
      expect(batch?.has(ProxyMetric.CostBilledNanoUsd)).toBe(false);
      expect(batch?.has(ProxyMetric.TokensBilled)).toBe(false);
    });
  });
});
