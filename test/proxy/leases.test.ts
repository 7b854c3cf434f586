import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_OPTIONS } from '../../lambdas/gateway/leases.ts';
import { quoteHold } from '../../lambdas/gateway/pricing.ts';
import { sweepHolds } from '../../lambdas/services/sweep.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { audit, createAccountWithKey, putRoute, settledUsage } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { providerEnv, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { usageRow } from '../support/rows.ts';

// $3 in, $15 out per million tokens.
const PRICES = { input: 3_000_000_000, output: 15_000_000_000 };
/** 10 input × $3 + 20 output × $15 per 1M. */
const COST = 330_000;

describe('credit leases: one busy account without a wallet write per request', () => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let gateway: TestGateway;

  /** Waits until the account has no open lease (they close once idle) and returns its audit. */
  const closedAudit = async (accountId: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const result = await audit(db, accountId);
      if (result.openLeases === 0) return result;
      if (Date.now() > deadline) throw new Error(`leases still open: ${JSON.stringify(result)}`);
      await new Promise((done) => setTimeout(done, 25));
    }
  };
  const body = (maxTokens: number) => ({
    model: 'gpt-leased',
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: 'lease' }],
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream();
    await putRoute(db, { model: 'gpt-leased', provider: 'openai', prices: PRICES });
    // Leases for accounts from $1, a slice of half what is spendable, closed 50 ms after the last request.
    gateway = await startTestGateway(db, providerEnv(upstream), {
      leases: { ...DEFAULT_LEASE_OPTIONS, minSpendable: 1_000_000_000, share: 1 / 2, minHolds: 2, idleCloseMs: 50 },
    });
  });
  beforeEach(() => {
    upstream.reset();
    upstream.script(() => ({ usage: { inputTokens: 10, outputTokens: 20 } }));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('serves 64 concurrent requests of one account in a lease, and the wallet ends exact', async () => {
    // Prepare
    const { accountId, secret } = await createAccountWithKey(db, { usd: 200 });

    // Act
    const statuses = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const response = await gateway.post(secret, '/v1/chat/completions', body(100));
        await response.text();
        return response.status;
      }),
    );

    // Assess: all served, each row held in a lease, and the wallet written only per lease.
    expect(statuses).toEqual(Array(64).fill(200));
    const rows = await settledUsage(db, accountId, 64);
    expect(rows.every((row) => row.lease?.startsWith('lease#'))).toBe(true);
    // The upstream's own usage reads back whole from the final rows (stored as JSON text).
    expect(rows.map((row) => row.rawUsage)).toEqual(
      Array(64).fill(expect.objectContaining({ prompt_tokens: 10, completion_tokens: 20 })),
    );
    const leases = new Set(rows.map((row) => row.lease));
    expect(leases.size).toBeLessThanOrEqual(2);
    const result = await closedAudit(accountId);
    expect(result).toMatchObject({ difference: 0, leaseMismatches: [], openLeases: 0 });
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(200_000_000_000 - 64 * COST);
    const stored = await db.stores.wallets.leases(accountId);
    expect(stored.every((lease) => lease.status === 'closed')).toBe(true);
    expect(stored.reduce((sum, lease) => sum + (lease.cost ?? 0), 0)).toBe(64 * COST);
  });

  it('never lets concurrent requests hold more than the wallet has, leases or not', async () => {
    // Prepare: $2 and holds of about $0.30: leases of half the spendable cover few requests each.
    const { accountId, secret } = await createAccountWithKey(db, { usd: 2 });
    const text = JSON.stringify(body(20_000));
    const hold = quoteHold(text, body(20_000), { tokens: 20_000, choices: 1 }, PRICES).amount;
    // The upstream answers after 1 s: no settle returns money while the 40 holds race.
    upstream.script(() => ({ ttfbMs: 1_000, usage: { inputTokens: 10, outputTokens: 20 } }));

    // Act
    const responses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await gateway.post(secret, '/v1/chat/completions', body(20_000));
        return { status: response.status, text: await response.text() };
      }),
    );

    // Assess
    const served = responses.filter((r) => r.status === 200).length;
    expect(responses.filter((r) => r.status !== 200 && r.status !== 402)).toEqual([]);
    expect(served).toBeGreaterThan(0);
    expect(served * hold).toBeLessThanOrEqual(2_000_000_000);
    await settledUsage(db, accountId, served);
    const result = await closedAudit(accountId);
    expect(result).toMatchObject({ difference: 0, leaseMismatches: [] });
    const wallet = await db.stores.wallets.get(accountId);
    expect(wallet?.balance).toBe(2_000_000_000 - served * COST);
    expect(wallet?.balance).toBeGreaterThanOrEqual(0);
  });

  it('keeps holding a key with a spend limit in the wallet, in the limit row', async () => {
    const { accountId, secret, record } = await createAccountWithKey(db, { usd: 200 });
    await db.stores.keys.update(record.keyId, { spendLimit: 1_000_000_000, limitReset: 'never' });

    const response = await gateway.post(secret, '/v1/chat/completions', body(100));

    expect(response.status).toBe(200);
    const [row] = await settledUsage(db, accountId, 1);
    expect(row?.lease).toBeUndefined();
    expect(row?.keyBudget).toBe(`keyspend#${record.keyId}#never`);
  });
});

describe('an instance that dies holding a lease', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  const leaseOf = (accountId: string, openedAt: Date, amount: number) => ({
    accountId,
    sk: `lease#${openedAt.toISOString()}#died`,
    amount,
    openedAt: openedAt.toISOString(),
    holdUntil: new Date(openedAt.getTime() + 60_000).toISOString(),
  });

  it('is closed by the sweeper: the request that died between its two writes is charged its checkpoint, the rest returns', async () => {
    // Prepare: $10; a $2 lease opened an hour ago; three requests held in it: one settled at $0.10,
    // one died after streaming ($0.05 checkpointed), one died before any output (no row at all).
    const now = new Date();
    const { accountId } = await createAccountWithKey(db, { usd: 10 });
    const openedAt = new Date(now.getTime() - 3_600_000);
    const lease = leaseOf(accountId, openedAt, 2_000_000_000);
    await db.stores.wallets.openLease(lease);
    const held = (id: string, hold: number): UsageRow => ({
      ...usageRow(accountId, id, new Date(openedAt.getTime() + 1_000), hold),
      lease: lease.sk,
    });
    const settledRow = held('req-settled', 500_000_000);
    const streamedRow = held('req-streamed', 500_000_000);
    // The settled request's row is final; the streamed one wrote its checkpoint; the silent one never
    // wrote anything (a short request's row is written only at its settle).
    await db.stores.wallets.settleLeased(settledRow, { cost: 100_000_000, outcome: 'completed' });
    await db.stores.wallets.checkpointLeased(streamedRow, 50_000_000);
    // A checkpoint that lands after the settle (a retry) never turns the final row back to pending.
    expect(await db.stores.wallets.checkpointLeased(settledRow, 60_000_000)).toBe(false);
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(8_000_000_000);
    expect(await audit(db, accountId)).toMatchObject({ difference: 0, openLeases: 1 });

    // Act
    const first = await sweepHolds({ ...db.stores, now: () => now });
    const second = await sweepHolds({ ...db.stores, now: () => now });

    // Assess: $10 − $0.10 − $0.05, the lease closed once; the silent request was never billed (as an
    // expired hold without a checkpoint is released).
    expect(first).toMatchObject({ charged: 1, released: 0, leases_closed: 1 });
    expect(second).toMatchObject({ charged: 0, released: 0, leases_closed: 0 });
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(9_850_000_000);
    expect(await audit(db, accountId)).toMatchObject({ difference: 0, openLeases: 0, leaseMismatches: [] });
    const [closed] = await db.stores.wallets.leases(accountId);
    expect(closed).toMatchObject({ status: 'closed', cost: 150_000_000 });
  });

  it('leaves a lease whose requests may still run', async () => {
    const now = new Date();
    const { accountId } = await createAccountWithKey(db, { usd: 10 });
    await db.stores.wallets.openLease(leaseOf(accountId, new Date(now.getTime() - 60_000), 1_000_000_000));

    await sweepHolds({ ...db.stores, now: () => now });

    expect(await audit(db, accountId)).toMatchObject({ difference: 0, openLeases: 1 });
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(9_000_000_000);
  });
});
