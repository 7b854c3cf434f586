import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import { ensureTables } from '../../lambdas/store/bootstrap.ts';
import { createDocumentClient, databaseDeadlineMs } from '../../lambdas/store/client.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lambdas/store/dynamodb-local.ts';
import { createStores } from '../../lambdas/store/index.ts';
import { tableNamesFromEnv } from '../../lib/tables.ts';
import { audit, createAccountWithKey, putRoute } from '../support/accounts.ts';
import type { TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway } from '../support/gateway.ts';

const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
/** A short per-attempt timeout keeps the test fast: 2 × 1 s + backoff = 3 s. */
const ATTEMPT_TIMEOUT_MS = 1_000;
const DEADLINE_MS = databaseDeadlineMs({ attemptTimeoutMs: ATTEMPT_TIMEOUT_MS });
/** The gateway's own time around the database's deadline, on a loaded machine. */
const SLACK_MS = 1_500;
const IN_FLIGHT = 16;

/**
 * A DynamoDB Local of this file's own, paused with SIGSTOP: it accepts connections (the kernel does)
 * and never answers, as a browned-out DynamoDB does. Starting Java takes 5–15 s on a loaded machine.
 */
describe('a stalled database', { timeout: 90_000 }, () => {
  let dynamo: DynamoDbLocal;
  let db: TestDatabase;
  let upstream: FakeUpstream;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    const tables = tableNamesFromEnv({}, 'stall');
    const raw = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    await ensureTables(raw, tables);
    raw.destroy();
    const client = createDocumentClient({ endpoint: dynamo.endpoint, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS });
    db = { endpoint: dynamo.endpoint, prefix: 'stall', tables, client, stores: createStores(client, tables) };
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', prices: PRICES, defaultMaxTokens: 100 });
  });
  afterAll(async () => {
    if (dynamo?.process.pid) dynamo.process.kill('SIGCONT');
    await upstream?.close();
    await dynamo?.stop();
  });

  it('answers every request 503 with retry-after or 200 within the deadline, and the sweeper leaves the ledger exact', async () => {
    // Prepare: a warm gateway (the account's wallet snapshot is known), with its metrics collected.
    const { accountId, secret } = await createAccountWithKey(db);
    const addMetric = vi.fn();
    const gateway = await startTestGateway(
      db,
      providerEnv(upstream),
      { settleRetryDelaysMs: [100, 200] },
      { metrics: { addMetric, publishStoredMetrics: vi.fn() } },
    );
    const ask = () =>
      gateway.post(secret, '/v1/chat/completions', { model: 'gpt', messages: [{ role: 'user', content: 'x' }] });
    expect((await ask()).status).toBe(200);
    const pid = dynamo.process.pid;
    if (pid === undefined) throw new Error('DynamoDB Local has no pid');
    try {
      // Act: 16 requests in flight, then the database stops answering for longer than the deadline.
      const answers = Array.from({ length: IN_FLIGHT }, async () => {
        const startedAt = performance.now();
        const response = await ask();
        await response.text();
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          ms: performance.now() - startedAt,
        };
      });
      await new Promise((done) => setTimeout(done, 20));
      process.kill(pid, 'SIGSTOP');
      const stalledAt = performance.now();
      const stallMs = DEADLINE_MS + 3_000;
      const answered = Promise.all(answers);
      await new Promise((done) => setTimeout(done, stallMs));
      process.kill(pid, 'SIGCONT');
      const results = await answered;
      // Assess: each answered in time, as a 200 or the documented 503.
      for (const { status, retryAfter, ms } of results) {
        expect([200, 503]).toContain(status);
        if (status === 503) expect(retryAfter).toBe('5');
        expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
      }
      const refused = results.filter((r) => r.status === 503).length;
      expect(refused).toBeGreaterThan(0);
      const timeouts = addMetric.mock.calls.filter(([name]) => name === 'DatabaseTimeouts').length;
      expect(timeouts).toBeGreaterThanOrEqual(refused);
      console.info(
        `database stall: deadline ${DEADLINE_MS} ms, stalled ${stallMs} ms (from ${stalledAt.toFixed(0)}); answers (ms): ` +
          results.map((r) => `${r.status}@${r.ms.toFixed(0)}`).join(' '),
      );
      // Once resumed, the database serves requests again.
      expect((await ask()).status).toBe(200);
    } finally {
      process.kill(pid, 'SIGCONT');
      await gateway.close(); // every exchange settled, or left pending for the sweeper
    }
    // The sweeper settles what the stall left pending (holds written late, settles given up).
    await sweepExpiredHolds(db.stores.wallets, { expiryMs: 0 });
    const rows = await db.stores.wallets.allLedgerRows(accountId);
    expect(rows.filter((row) => row.kind === 'usage' && row.status === 'pending')).toEqual([]);
    expect((await audit(db, accountId)).difference).toBe(0);
  });
});
