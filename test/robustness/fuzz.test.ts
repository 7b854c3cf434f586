import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, createAccountWithKey, putRoute } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type BadRequest, badRequest, type Envelope, type FuzzFixture } from './bad-requests.ts';
import { type RawResponse, rawClient } from './raw-http.ts';

const REQUESTS = 10_000;
const CONCURRENCY = 16;
/** Requests drawn per fast-check sample, so sizes and biases vary across the run. */
const BATCH = 50;
const MAX_BODY_BYTES = 64 * 1024;
/** Fixed so a failure replays; set FUZZ_SEED to explore further. */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_251_125);
const USD = 5;

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The error object of an envelope, or undefined when the body is not in that envelope. */
const errorOf = (body: unknown, envelope: Envelope): Record<string, unknown> | undefined => {
  if (!isRecord(body) || !isRecord(body['error'])) return undefined;
  if (envelope === 'anthropic' && body['type'] !== 'error') return undefined;
  const { message, type } = body['error'];
  return typeof message === 'string' && message !== '' && typeof type === 'string' ? body['error'] : undefined;
};

/** A V8 stack frame (`at fn (/path/file.ts:1:2)`), whatever the file. */
const STACK_FRAME = /\bat\s+(?:\S+\s+\()?(?:file:\/\/|\/|node:)[^\s)]*:\d+:\d+/;

/** What is wrong with the answer to `request`, or undefined when it is what the error contract says. */
const problemWith = (request: BadRequest, response: RawResponse, secrets: readonly string[]): string | undefined => {
  if (response.status !== request.status) return `expected ${request.status}, got ${response.status}`;
  // A HEAD answer has no body by definition; its status is all there is to check.
  if (request.method === 'HEAD') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return 'the body is not JSON';
  }
  const error = errorOf(body, request.envelope);
  if (!error) return `the body is not in the ${request.envelope} error envelope`;
  if (error['type'] !== ERROR_TYPES[response.status]) return `error.type is ${String(error['type'])}`;
  if (STACK_FRAME.test(response.body)) return 'the body holds a stack frame';
  for (const leak of [process.cwd(), 'node_modules', 'node:internal', ...secrets]) {
    if (response.body.includes(leak)) return `the body holds '${leak.slice(0, 20)}…'`;
  }
  return undefined;
};

describe('fuzzing the public routes with requests the gateway must refuse', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;
  let fixture: FuzzFixture;
  let accountId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-ok', provider: 'openai' });
    await putRoute(db, { model: 'claude-ok', provider: 'anthropic' });
    await putRoute(db, { model: 'embed-ok', provider: 'openai' });
    const live = await createAccountWithKey(db, { usd: USD });
    const revoked = await createAccountWithKey(db);
    await db.stores.keys.revoke(revoked.record.keyId);
    const expired = await createAccountWithKey(db, { expiresAt: '2020-01-01T00:00:00Z' });
    accountId = live.accountId;
    fixture = {
      secret: live.secret,
      revokedSecret: revoked.secret,
      expiredSecret: expired.secret,
      models: {
        chat: 'gpt-ok',
        messages: 'claude-ok',
        embeddings: 'embed-ok',
        count_tokens: 'claude-ok',
        responses: 'gpt-ok',
      },
      maxBodyBytes: MAX_BODY_BYTES,
    };
    // Caches on, as deployed: the run is about parsing and validation, not DynamoDB Local's speed.
    gateway = await startTestGateway(
      db,
      {
        OPENAI_API_KEY: 'sk-upstream-openai',
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        ANTHROPIC_API_KEY: 'sk-ant-upstream',
        ANTHROPIC_BASE_URL: upstream.url,
      },
      { maxBodyBytes: MAX_BODY_BYTES, keyCacheTtlMs: 60_000, negativeKeyCacheTtlMs: 60_000, routeCacheTtlMs: 60_000 },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it(`answers ${REQUESTS} generated bad requests with the contract's 4xx, in the right envelope, without a trace`, async () => {
    // Prepare
    const client = rawClient(gateway.port, { maxSockets: CONCURRENCY });
    const arbitrary = badRequest(fixture);
    function* requests(): Generator<[number, BadRequest]> {
      for (let batch = 0; batch * BATCH < REQUESTS; batch += 1) {
        const drawn = fc.sample(arbitrary, { seed: SEED + batch, numRuns: BATCH });
        for (const [index, request] of drawn.entries()) yield [batch * BATCH + index, request];
      }
    }
    const queue = requests();
    const failures: string[] = [];
    const categories = new Map<string, number>();
    let sent = 0;

    // Act
    const worker = async () => {
      for (let next = queue.next(); !next.done; next = queue.next()) {
        const [index, request] = next.value;
        const category = request.label.split(':')[0] ?? request.label;
        categories.set(category, (categories.get(category) ?? 0) + 1);
        sent += 1;
        const where = `#${index} (seed ${SEED + Math.floor(index / BATCH)}) ${request.label} ${request.method} ${request.path.slice(0, 60)}`;
        try {
          const response = await client.send(request);
          const problem = problemWith(request, response, [fixture.secret]);
          if (problem) failures.push(`${where}: ${problem}; body ${response.body.slice(0, 200)}`);
        } catch (error) {
          failures.push(`${where}: no answer (${(error as Error).message})`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    client.close();

    // Assess
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    expect(failures.slice(0, 20), `${failures.length} of ${sent} requests answered wrong`).toEqual([]);
    expect([...categories.keys()].sort()).toEqual([
      'auth',
      'body',
      'path',
      'unknown-model',
      'unknown-model-deep',
      'utf8',
      'wallet',
    ]);
    for (const [category, count] of categories) expect(count, category).toBeGreaterThan(100);
  }, 120_000);

  it('still answers /health, called no upstream, and left no hold or charge behind', async () => {
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).toBe(200);
    expect(upstream.requestCount).toBe(0);
    const report = await audit(db, accountId);
    expect(report).toMatchObject({ difference: 0, pendingRows: 0, openHolds: 0, settledCosts: 0 });
    expect(report.balance).toBe(USD * 1_000_000_000);
    const usage = (await db.stores.wallets.allLedgerRows(accountId)).filter((row) => row.kind === 'usage');
    expect(usage).toEqual([]);
  });

  it('keeps serving after bodies cut off mid-transfer, which get no answer at all', async () => {
    // Prepare: a body that promises more bytes than it sends, then the client is gone.
    const cutOff = (bytes: number) =>
      new Promise<void>((done, failed) => {
        const socket = connect(gateway.port, '127.0.0.1', () => {
          socket.write(
            'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
              `authorization: Bearer ${fixture.secret}\r\ncontent-length: 100000\r\n\r\n` +
              '{"model":"gpt-ok","messages":[{"role":"user","content":"'.slice(0, bytes),
          );
          setTimeout(() => socket.destroy(), 20);
        });
        socket.on('close', () => done());
        socket.on('error', failed);
      });
    // Act
    await Promise.all([0, 1, 10, 40].map(cutOff));
    // Assess
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).toBe(200);
    expect(upstream.requestCount).toBe(0);
    expect((await audit(db, accountId)).pendingRows).toBe(0);
  });

  describe('bodies that pass validation but are extreme', () => {
    const post = (secret: string, path: string, body: string) =>
      fetch(`${gateway.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body,
      });
    /** Nothing called, nothing held, nothing charged. */
    const costNothing = async (account: string) => {
      expect(upstream.requestCount).toBe(0);
      const report = await audit(db, account);
      expect(report).toMatchObject({ difference: 0, pendingRows: 0, settledCosts: 0 });
      expect(report.balance).toBe(USD * 1_000_000_000);
    };

    it.each([
      ['chat on an OpenAI route', '/v1/chat/completions', 'gpt-ok', 'openai'],
      ['messages on an Anthropic route', '/v1/messages', 'claude-ok', 'anthropic'],
      ['count_tokens on an Anthropic route', '/v1/messages/count_tokens', 'claude-ok', 'anthropic'],
      ['count_tokens estimated on an OpenAI route', '/v1/messages/count_tokens', 'gpt-ok', 'anthropic'],
    ] as const)(
      'refuses content nested 20,000 levels deep with 400, not a 5xx (%s)',
      async (_name, path, model, envelope) => {
        // Prepare: the schema does not look inside content, and JSON.parse takes any depth; re-encoding does not.
        upstream.reset();
        const account = await createAccountWithKey(db, { usd: USD });
        const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
        const body = `{"model":"${model}","max_tokens":16,"messages":[{"role":"user","content":${deep}}]}`;
        // Act
        const response = await post(account.secret, path, body);
        // Assess
        const text = await response.text();
        expect({ status: response.status, body: text }).toMatchObject({ status: 400 });
        expect(errorOf(JSON.parse(text), envelope)).toMatchObject({ type: 'invalid_request_error' });
        await costNothing(account.accountId);
      },
    );

    it('refuses any max_tokens the balance cannot cover with 402, however large (property)', async () => {
      const account = await createAccountWithKey(db, { usd: USD });
      upstream.reset();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('max_tokens', 'max_completion_tokens'),
          // $2 per million output tokens: above 2.5 million tokens no $5 wallet covers the hold.
          fc.integer({ min: 3_000_000, max: Number.MAX_SAFE_INTEGER }),
          async (field, maxTokens) => {
            const body = JSON.stringify({
              model: 'gpt-ok',
              messages: [{ role: 'user', content: 'x' }],
              [field]: maxTokens,
            });
            const response = await post(account.secret, '/v1/chat/completions', body);
            const json = (await response.json()) as { error?: { type?: string; message?: string } };
            expect({ status: response.status, error: json.error }).toMatchObject({
              status: 402,
              error: { type: 'billing_error', message: expect.stringMatching(/^Insufficient balance/) },
            });
          },
        ),
        { numRuns: 60, seed: SEED },
      );
      await costNothing(account.accountId);
    });
  });
});
