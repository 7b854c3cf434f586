import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import { ensureTables } from '../../lambdas/store/bootstrap.ts';
import { createDocumentClient } from '../../lambdas/store/client.ts';
import { type DynamoDbLocal, freePort, startDynamoDbLocal } from '../../lambdas/store/dynamodb-local.ts';
import { createStores } from '../../lambdas/store/index.ts';
import { tableNamesFromEnv } from '../../lib/tables.ts';
import { audit, createAccountWithKey, putRoute } from '../support/accounts.ts';
import type { TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { startTestGateway } from '../support/gateway.ts';

const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };

/**
 * A file-backed DynamoDB Local of this file's own, so it can be stopped and started again. Each test
 * restarts it (a Java process): on a loaded 2-core machine that alone takes 5–15 s, hence the timeout.
 */
describe('faults: the database fails while money is held', { timeout: 60_000 }, () => {
  let dataDir: string;
  let port: number;
  let dynamo: DynamoDbLocal;
  let db: TestDatabase;
  let upstream: FakeUpstream;

  const startDynamo = async () => {
    dynamo = await startDynamoDbLocal({ dataDir, port });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-faults-'));
    port = await freePort();
    await startDynamo();
    const tables = tableNamesFromEnv({}, 'faults');
    const raw = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    await ensureTables(raw, tables);
    raw.destroy();
    const client = createDocumentClient({ endpoint: dynamo.endpoint });
    db = { endpoint: dynamo.endpoint, prefix: 'faults', tables, client, stores: createStores(client, tables) };
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt', provider: 'openai', prices: PRICES, defaultMaxTokens: 100 });
  });
  afterAll(async () => {
    await upstream?.close();
    await dynamo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const waitFor = async <T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((done) => setTimeout(done, 50));
    }
  };
  const usageRow = (accountId: string) => async () =>
    (await db.stores.wallets.allLedgerRows(accountId)).find((row) => row.kind === 'usage');

  it('settles late, exactly once, when the database comes back while the settle is retrying', async () => {
    // Prepare
    const { accountId, secret } = await createAccountWithKey(db);
    const gateway = await startTestGateway(
      db,
      { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${upstream.url}/v1` },
      {
        settleRetryDelaysMs: [300, 600, 1_000, 1_500, 2_000, 3_000, 4_000],
      },
    );
    upstream.enqueue({
      chunks: ['a', 'b', 'c', 'd'],
      chunkDelayMs: 100,
      usage: { inputTokens: 300, outputTokens: 40 },
    });
    try {
      // Act: the hold commits, then the database dies before the settle and comes back 2 s later.
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      await dynamo.stop();
      expect(await response.text()).toContain('data: [DONE]');
      await new Promise((done) => setTimeout(done, 2_000));
      await startDynamo();
      // Assess
      const row = await waitFor(async () => {
        const found = await usageRow(accountId)();
        return found?.kind === 'usage' && found.status === 'final' ? found : undefined;
      });
      expect(row).toMatchObject({ outcome: 'completed', cost: 300 * 1_000 + 40 * 2_000 });
      expect((await audit(db, accountId)).difference).toBe(0);
    } finally {
      await gateway.close();
    }
  });

  it('leaves the hold for the sweeper when the database stays down, and the sweeper releases it once', async () => {
    // Prepare
    const { accountId, secret } = await createAccountWithKey(db);
    const gateway = await startTestGateway(
      db,
      { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${upstream.url}/v1` },
      {
        settleRetryDelaysMs: [50, 50],
      },
    );
    upstream.enqueue({ chunks: ['a', 'b', 'c'], chunkDelayMs: 100 });
    const before = (await db.stores.wallets.get(accountId))?.balance;
    try {
      // Act
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      await dynamo.stop();
      await response.text();
      // While the database is down, new requests answer a clean 503 that says so.
      const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({
        error: { type: 'api_error', message: expect.stringContaining('database is unavailable') },
      });
      await new Promise((done) => setTimeout(done, 1_000)); // every settle attempt has failed by now
      await startDynamo();
      const pending = await usageRow(accountId)();
      expect(pending).toMatchObject({ status: 'pending' });
      const first = await sweepExpiredHolds(db.stores.wallets, { expiryMs: 0 });
      const second = await sweepExpiredHolds(db.stores.wallets, { expiryMs: 0 });
      // Assess
      expect(first.released).toBeGreaterThanOrEqual(1);
      expect(second.released).toBe(0);
      expect(await usageRow(accountId)()).toMatchObject({ status: 'final', outcome: 'expired_hold', cost: 0 });
      expect((await db.stores.wallets.get(accountId))?.balance).toBe(before);
      expect((await audit(db, accountId)).difference).toBe(0);
    } finally {
      await gateway.close();
    }
  });
});
