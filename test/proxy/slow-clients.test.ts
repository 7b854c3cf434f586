import { type IncomingMessage, request } from 'node:http';
import { Writable } from 'node:stream';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProxyHandler } from '../../lambdas/app.ts';
import { configFromEnv } from '../../lambdas/gateway/config.ts';
import { windowStart } from '../../lambdas/gateway/rate-limit.ts';
import type { MetricsSink } from '../../lambdas/gateway/request-metrics.ts';
import { envCredentials } from '../../lambdas/providers/credentials.ts';
import { createReporter } from '../../lambdas/reports/reporter.ts';
import { installLambdaGlobals, type StreamingHandler } from '../../lambdas/runtime/function-url.ts';
import { keyUsageReader } from '../../lambdas/services/keys.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { lambdaContext, proxyEvent, silentLogger } from '../support/lambda.ts';

// $1 in, $2 out per million tokens: 1 input token = 1_000 nano-USD, 1 output token = 2_000.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const FIVE_USD = 5_000_000_000;

/**
 * 3,000 deltas of 4,000 characters: 12 MB, more than every buffer between the gateway and a client
 * that stopped reading (the kernel's socket buffers on loopback alone reach several megabytes).
 */
const PIECES = Array.from({ length: 3_000 }, (_, index) => `${String(index).padStart(5, '0')}${'x'.repeat(3_995)}`);
const ANSWER = PIECES.join('');
/** What the upstream reports at the very end of its stream (and nowhere before). */
const USAGE = { inputTokens: 1_000, outputTokens: 3_000 };
const COST = 1_000 * 1_000 + 3_000 * 2_000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The chat deltas' text and the error events of an SSE body, read by a real SSE parser. */
const readChatStream = (body: string) => {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(body);
  let text = '';
  let done = false;
  const errors: unknown[] = [];
  for (const event of events) {
    if (event.data === '[DONE]') {
      done = true;
      continue;
    }
    const data = JSON.parse(event.data) as { error?: unknown; choices?: { delta?: { content?: string | null } }[] };
    if (data.error) errors.push(data.error);
    text += data.choices?.[0]?.delta?.content ?? '';
  }
  return { text, done, errors };
};

/**
 * Client backpressure is not an upstream stall (issue 10): the gateway's idle timer measures the
 * upstream only, a client that stops reading for a while still gets the whole answer, and one that
 * stops for good is dropped while the upstream is still read to its end and billed.
 */
describe('slow clients', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
    await putRoute(db, { model: 'claude', provider: 'anthropic', upstreamModel: 'claude-upstream', prices: PRICES });
    gateway = await startTestGateway(db, {
      ...providerEnv(upstream),
      // An upstream silent for 0.3 s is cut; a client that takes nothing for 2 s is dropped.
      TOLLGATE_UPSTREAM_IDLE_TIMEOUT: '0.3',
      TOLLGATE_CLIENT_TIMEOUT: '2',
    });
  });
  beforeEach(() => {
    upstream.reset();
    upstream.script(() => ({ chunks: PIECES, usage: USAGE }));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** Opens a streamed chat completion with a raw HTTP client that reads nothing until told to. */
  const openChat = (secret: string, model: string) =>
    new Promise<{ response: IncomingMessage; close: () => void }>((resolve, reject) => {
      const outgoing = request(
        `${gateway.url}/v1/chat/completions`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        },
        (response) => resolve({ response, close: () => outgoing.destroy() }),
      );
      outgoing.on('error', reject);
      outgoing.end(
        JSON.stringify({
          model,
          stream: true,
          max_tokens: 4_000,
          messages: [{ role: 'user', content: 'long, please' }],
        }),
      );
    });

  /** Reads the rest of a response to its end. */
  const readAll = async (response: IncomingMessage, first = '') => {
    let body = first;
    response.setEncoding('utf8');
    for await (const chunk of response) body += chunk as string;
    return body;
  };

  /** Reads until at least `bytes` have arrived, then stops reading (the socket fills and stays full). */
  const readAtLeast = (response: IncomingMessage, bytes: number) =>
    new Promise<string>((resolve, reject) => {
      let body = '';
      const onData = (chunk: Buffer) => {
        body += chunk.toString('utf8');
        if (body.length < bytes) return;
        response.off('data', onData);
        response.pause();
        resolve(body);
      };
      response.on('data', onData);
      response.once('error', reject);
    });

  it.each([
    ['passed through from OpenAI', 'gpt'],
    ['translated from Anthropic', 'claude'],
  ])(
    'waits for a client that stops reading longer than the upstream idle timeout, then delivers the whole answer (%s), billed exactly',
    async (_name, model) => {
      // Prepare
      const { accountId, secret } = await createAccountWithKey(db);
      // Act: take the first 256 kB, stop reading for 1 s (> 3 × the idle timeout), then read on
      const { response } = await openChat(secret, model);
      expect(response.statusCode).toBe(200);
      const first = await readAtLeast(response, 256_000);
      await sleep(1_000);
      const body = await readAll(response, first);
      // Assess: not cut as an upstream stall; every byte arrived and the stream ended normally
      const { text, done, errors } = readChatStream(body);
      expect(errors).toEqual([]);
      expect(body).not.toContain('stalled');
      expect(text).toBe(ANSWER);
      expect(done).toBe(true);
      const [row] = await settledUsage(db, accountId, 1);
      expect(row).toMatchObject({
        outcome: 'completed',
        usage: { ...USAGE, cacheReadTokens: 0, cacheWriteTokens: 0 },
        cost: COST,
      });
      expect(row?.estimated).toBeUndefined();
      expect(row?.overrun).toBeUndefined();
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - COST);
      expect((await audit(db, accountId)).difference).toBe(0);
    },
  );

  it.each([
    ['passed through from OpenAI', 'gpt'],
    ['translated from Anthropic', 'claude'],
  ])(
    'drops a client that takes nothing for the client timeout (%s), reads the upstream to its end and bills its full usage',
    async (_name, model) => {
      // Prepare
      const { accountId, secret } = await createAccountWithKey(db);
      // Act: take the first 256 kB of the answer, then never read again
      const { response, close } = await openChat(secret, model);
      const received = await readAtLeast(response, 256_000);
      // Assess: output reached the client, so the request is billed — the usage reported at the
      // very end of the upstream's stream, which the gateway read after dropping the client
      expect(received.length).toBeGreaterThanOrEqual(256_000);
      const [row] = await settledUsage(db, accountId, 1, 8_000);
      close();
      expect(row).toMatchObject({
        outcome: 'client_disconnected',
        usage: { ...USAGE, cacheReadTokens: 0, cacheWriteTokens: 0 },
        cost: COST,
      });
      expect(row?.estimated).toBeUndefined();
      expect(row?.cost).toBeGreaterThan(0);
      expect(row?.cost).toBeLessThanOrEqual(row?.hold ?? 0);
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(FIVE_USD - COST);
      expect((await audit(db, accountId)).difference).toBe(0);
    },
  );
});

/**
 * The proxy handler as Lambda runs it, its response stream a client that took the first kilobyte
 * and then nothing: no kernel buffers in between, so where the bytes wait is deterministic.
 */
describe('a client that stops reading after the gateway wrote its last byte', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;

  /** Lambda's response stream, for a client that takes `takes` bytes and then nothing at all. */
  class StalledClient extends Writable {
    received = 0;
    private readonly takes: number;
    constructor(takes: number) {
      super();
      this.takes = takes;
    }
    /** Called by `awslambda.HttpResponseStream.from`. */
    setContentType(_type: string): void {}
    override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      this.received += chunk.length;
      if (this.received <= this.takes) callback(); // past that, the write never completes
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', upstreamModel: 'gpt-upstream', prices: PRICES });
  });
  afterAll(async () => {
    await upstream?.close();
  });

  /** Invokes the handler for a streamed answer of `pieces` × 1 kB, its client taking the first kilobyte only. */
  const invokeStalled = async (pieces: number, options: { tpm?: number; metrics?: MetricsSink } = {}) => {
    installLambdaGlobals();
    const env = { ...providerEnv(upstream), TOLLGATE_CLIENT_TIMEOUT: '0.3' };
    const handler = createProxyHandler({
      ...db.stores,
      keyUsage: keyUsageReader(db.stores),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      credentials: envCredentials(env),
      reporter: createReporter({ publish: async () => undefined }),
      logger: silentLogger(),
      config: { ...configFromEnv(env), keyCacheTtlMs: 0, negativeKeyCacheTtlMs: 0, routeCacheTtlMs: 0 },
      env,
      reach: { local: true },
    });
    const { accountId, secret, record } = await createAccountWithKey(db);
    if (options.tpm) await db.stores.keys.update(record.keyId, { tpm: options.tpm });
    upstream.enqueue({ chunks: Array.from({ length: pieces }, () => 'w'.repeat(1_000)), usage: USAGE });
    const client = new StalledClient(1_024);
    const invokedAt = Date.now();
    const event = proxyEvent('/v1/chat/completions', {
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: { model: 'gpt', stream: true, max_tokens: 4_000, messages: [{ role: 'user', content: 'hello' }] },
    });
    const invocation = Promise.resolve((handler as unknown as StreamingHandler)(event, client, lambdaContext()));
    let ended = false;
    void invocation.then(
      () => (ended = true),
      () => (ended = true),
    );
    return {
      accountId,
      keyId: record.keyId,
      invokedAt,
      /** Whether the invocation has ended `ms` from now. */
      endedWithin: async (ms: number) => {
        await sleep(ms);
        return ended;
      },
      /** The client finally leaves: the invocation ends. */
      leave: async () => {
        client.destroy();
        await invocation.catch(() => undefined);
      },
    };
  };

  it('settles the request on its usage although the client never takes the end of the answer', async () => {
    // Prepare: an answer of ~12 kB — it all fits in Lambda's response stream buffer, so the pump
    // writes its last byte and ends without ever waiting on the client
    const { accountId, leave } = await invokeStalled(10);
    try {
      // Assess: well past the client timeout, the request is settled on the usage the upstream reported
      const [row] = await settledUsage(db, accountId, 1, 2_000);
      expect(row).toMatchObject({ usage: { ...USAGE, cacheReadTokens: 0, cacheWriteTokens: 0 }, cost: COST });
      expect((await audit(db, accountId)).difference).toBe(0);
    } finally {
      await leave();
    }
  });

  it("ends the invocation after the client timeout when the end of the answer still waits in the gateway's buffer", async () => {
    // ~120 kB: more than Lambda's response stream buffers, so the tail waits in the gateway's own stream
    const { accountId, endedWithin, leave } = await invokeStalled(100);
    try {
      expect(await endedWithin(1_500)).toBe(true);
      await settledUsage(db, accountId, 1, 2_000);
    } finally {
      await leave();
    }
  });

  // When the whole end of the answer already waits in Lambda's response stream, nothing in the
  // gateway can drop the client (the stream is Lambda's): the invocation stays open until the client
  // takes the rest or Lambda's timeout. Everything the request owes is done without it.
  it("settles, counts the key's tokens and records the metrics while the invocation waits on the client", async () => {
    const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
    const { accountId, keyId, invokedAt, endedWithin, leave } = await invokeStalled(10, { tpm: 1_000_000, metrics });
    try {
      await settledUsage(db, accountId, 1, 2_000);
      await vi.waitFor(() => expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1), { timeout: 2_000 });
      expect(metrics.addMetric).toHaveBeenCalledWith('CostBilledNanoUsd', 'Count', COST);
      // The request counts in the minute it started, which may be the one before this one
      const windows = new Set([windowStart(invokedAt), windowStart(Date.now())]);
      let tokens = 0;
      for (const window of windows) {
        const { Item } = await db.client.send(
          new GetCommand({ TableName: db.tables.counters, Key: { counter: `${keyId}#${window}` } }),
        );
        tokens += Number(Item?.['tokens'] ?? 0);
      }
      expect(tokens).toBe(USAGE.inputTokens + USAGE.outputTokens);
      expect(await endedWithin(500)).toBe(false); // still open: the client has not taken the rest
    } finally {
      await leave();
    }
  });
});
