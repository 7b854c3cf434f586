import { beforeAll, describe, expect, it } from 'vitest';
import { keyBudgetSk, limitPeriod } from '../../lambdas/gateway/key-budget.ts';
import { createAccount, getAccount } from '../../lambdas/services/accounts.ts';
import { auditAccount } from '../../lambdas/services/audit.ts';
import { InvalidInputError } from '../../lambdas/services/errors.ts';
import { sweepHolds } from '../../lambdas/services/sweep.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { usageRow } from '../support/rows.ts';

describe('sweep service', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    // Its own tables: a sweep releases the old holds of every account.
    db = await createTestDatabase();
  });

  it('releases a hold older than the expiry exactly once and leaves younger ones', async () => {
    // Prepare
    const now = new Date();
    const stores = { ...db.stores, now: () => now };
    await createAccount(db.stores, { accountId: 'crashy' });
    await topUp(db.stores, { accountId: 'crashy', amountUsd: '1', topUpId: 'inv-1' });
    await db.stores.wallets.hold(usageRow('crashy', 'req-died', new Date(now.getTime() - 3_600_000), 300_000_000));
    await db.stores.wallets.hold(usageRow('crashy', 'req-live', now, 100_000_000));

    // Act
    const first = await sweepHolds(stores);
    const second = await sweepHolds(stores);

    // Assess
    expect(first).toEqual({
      released: 1,
      charged: 0,
      already_settled: 0,
      leases_closed: 0,
      older_than_seconds: 960,
      cutoff_at: new Date(now.getTime() - 960_000).toISOString(),
    });
    expect(second).toMatchObject({ released: 0, already_settled: 0 });
    expect((await getAccount(db.stores, { accountId: 'crashy' })).balance_usd).toBe('0.90');
    const rows = (await listUsage(db.stores, { accountId: 'crashy' })).ledger.data;
    const states = Object.fromEntries(
      rows.flatMap((row) => (row.type === 'usage' ? [[row.id, [row.status, row.outcome]] as const] : [])),
    );
    expect(states).toEqual({ 'req-live': ['pending', null], 'req-died': ['final', 'expired_hold'] });
    expect((await auditAccount(db.stores, { accountId: 'crashy' })).ok).toBe(true);
  });

  it("moves a dead request's hold on a limited key to what the sweeper charged, in the key's period", async () => {
    // Prepare: a $0.30 hold on a key limited to $1 a day, checkpointed at $0.12, whose request died.
    const now = new Date();
    await createAccount(db.stores, { accountId: 'limited' });
    await topUp(db.stores, { accountId: 'limited', amountUsd: '5', topUpId: 'inv-1' });
    const heldAt = new Date(now.getTime() - 3_600_000);
    const keyBudget = keyBudgetSk('key_limited', limitPeriod('daily', heldAt));
    const row = { ...usageRow('limited', 'req-limited', heldAt, 300_000_000), keyId: 'key_limited', keyBudget };
    await db.stores.wallets.hold(row, { room: 1_000_000_000 - row.hold });
    await db.stores.wallets.checkpoint(row, 120_000_000);
    expect(await db.stores.wallets.keySpend('limited', keyBudget)).toEqual({
      spent: 0,
      held: 300_000_000,
      used: 300_000_000,
    });

    // Act
    const swept = await sweepHolds({ ...db.stores, now: () => now });

    // Assess: the key's period counts what the wallet was charged, and nothing stays held.
    expect(swept).toMatchObject({ charged: 1 });
    expect(await db.stores.wallets.keySpend('limited', keyBudget)).toEqual({
      spent: 120_000_000,
      held: 0,
      used: 120_000_000,
    });
    expect((await auditAccount(db.stores, { accountId: 'limited' })).ok).toBe(true);
  });

  it('charges a hold its last checkpoint when a stream wrote one before its request died', async () => {
    // Prepare: a $0.30 hold whose stream had run up $0.12 before the invocation died
    const now = new Date();
    await createAccount(db.stores, { accountId: 'streamed' });
    await topUp(db.stores, { accountId: 'streamed', amountUsd: '1', topUpId: 'inv-1' });
    const row = usageRow('streamed', 'req-streamed', new Date(now.getTime() - 3_600_000), 300_000_000);
    await db.stores.wallets.hold(row);
    await db.stores.wallets.checkpoint(row, 120_000_000);
    // Act
    const swept = await sweepHolds({ ...db.stores, now: () => now });
    // Assess
    expect(swept).toMatchObject({ released: 0, charged: 1, already_settled: 0 });
    expect((await getAccount(db.stores, { accountId: 'streamed' })).balance_usd).toBe('0.88');
    const entry = (await listUsage(db.stores, { accountId: 'streamed' })).ledger.data.find((e) => e.type === 'usage');
    expect(entry).toMatchObject({ outcome: 'expired_hold', cost_nano: 120_000_000, estimated: true });
    expect((await auditAccount(db.stores, { accountId: 'streamed' })).ok).toBe(true);
  });

  it('releases holds younger than the default when given a shorter age', async () => {
    const now = new Date();
    await createAccount(db.stores, { accountId: 'short' });
    await topUp(db.stores, { accountId: 'short', amountUsd: '1', topUpId: 'inv-1' });
    await db.stores.wallets.hold(usageRow('short', 'req-old', new Date(now.getTime() - 120_000), 1_000));

    const swept = await sweepHolds({ ...db.stores, now: () => now }, { olderThanSeconds: 60 });

    expect(swept).toMatchObject({ released: 1, older_than_seconds: 60 });
  });

  it.each([0, -5, 1.5])('refuses an age of %j seconds', async (olderThanSeconds) => {
    await expect(sweepHolds(db.stores, { olderThanSeconds })).rejects.toThrow(InvalidInputError);
  });
});
