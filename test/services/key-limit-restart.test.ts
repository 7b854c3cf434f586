import { beforeAll, describe, expect, it } from 'vitest';
import { Billing, type Hold } from '../../lambdas/gateway/billing.ts';
import { keyBudgetSk, keyLimitState, limitPeriod } from '../../lambdas/gateway/key-budget.ts';
import { updateKey } from '../../lambdas/services/keys.ts';
import type { WalletAdminStore } from '../../lambdas/store/wallet-admin.ts';
import type { KeyRecord, Route } from '../../lambdas/vocabulary.ts';
import { createAccountWithKey } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

// $1 in, $2 out per million tokens; each request below: 10 in + 400,000 out = $0.80001.
const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const ROUTE: Route = { model: 'gpt-restart', provider: 'openai', prices: PRICES };
const BODY = { model: 'gpt-restart', messages: [{ role: 'user', content: 'hi' }] };
const CAP = { tokens: 400_000, choices: 1 };
const USAGE = { inputTokens: 10, outputTokens: 400_000, cacheReadTokens: 0, cacheWriteTokens: 0 };
const COST = 800_010_000;
const completed = { outcome: 'completed' as const, usage: USAGE, rawUsage: {}, outputChars: 0, endedAt: 0 };

/** Setting a key's limit counts what the key spent earlier in the period, exactly once (review findings). */
describe('a spend limit set or changed counts the period so far, exactly once', () => {
  let db: TestDatabase;
  let billing: Billing;
  let requests = 0;
  beforeAll(async () => {
    db = await createTestDatabase();
    billing = new Billing({ wallets: db.stores.wallets, settleRetryDelaysMs: [] });
  });

  const hold = (key: KeyRecord): Promise<Hold> => {
    requests += 1;
    return billing.hold({
      requestId: `gen-${Date.now()}-r${requests}`,
      key,
      route: ROUTE,
      body: BODY,
      bodyText: JSON.stringify(BODY),
      cap: CAP,
    });
  };
  const spent = async (key: KeyRecord) => {
    const fresh = (await db.stores.keys.findByKeyId(key.keyId)) as KeyRecord;
    return keyLimitState(db.stores.wallets, fresh, new Date());
  };

  it('counts a settle that lands while the limit is being set once, whichever comes first', async () => {
    // Prepare: a $5/day limit with one request running on today's row; the limit is removed.
    const { accountId, record } = await createAccountWithKey(db, { usd: 100 });
    await updateKey(db.stores, { keyId: record.keyId, accountId, spendLimit: 5_000_000_000, limitReset: 'daily' });
    const limited = (await db.stores.keys.findByKeyId(record.keyId)) as KeyRecord;
    const running = await hold(limited);
    await updateKey(db.stores, { keyId: record.keyId, accountId, spendLimit: null });
    // The request settles while the limit is set again, between the count's read and its write.
    const wallets = Object.create(db.stores.wallets) as WalletAdminStore;
    wallets.untrackedKeySpend = async (...args) => {
      const sum = await db.stores.wallets.untrackedKeySpend(...args);
      await billing.settle(running, completed);
      return sum;
    };

    // Act
    await updateKey(
      { ...db.stores, wallets },
      { keyId: record.keyId, accountId, spendLimit: 5_000_000_000, limitReset: 'daily' },
    );

    // Assess: its cost is counted once (by the row it was held on), nothing stays held.
    expect(await spent(record)).toMatchObject({ spent: COST, held: 0, remaining: 5_000_000_000 - COST });
  });

  it('leaves the key as it was when counting fails, and counts exactly on the retry', async () => {
    // Prepare: three requests without a limit: $2.40 spent today.
    const { accountId, record } = await createAccountWithKey(db, { usd: 100 });
    for (let index = 0; index < 3; index += 1) await billing.settle(await hold(record), completed);
    const failing = Object.create(db.stores.wallets) as WalletAdminStore;
    failing.untrackedKeySpend = async () => {
      throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    };
    const update = { keyId: record.keyId, accountId, spendLimit: 1_000_000_000, limitReset: 'daily' as const };

    // Act
    await expect(updateKey({ ...db.stores, wallets: failing }, update)).rejects.toThrow('timed out');
    const unchanged = await db.stores.keys.findByKeyId(record.keyId);
    await updateKey(db.stores, update);

    // Assess: the limit came with the count, and the key is past it.
    expect(unchanged?.spendLimit).toBeUndefined();
    expect(await spent(record)).toMatchObject({ spent: 3 * COST, remaining: 0 });
    const key = (await db.stores.keys.findByKeyId(record.keyId)) as KeyRecord;
    await expect(hold(key)).rejects.toThrow(/^Key limit reached/);
  });

  it('does not count twice when the limit is changed, removed and set again', async () => {
    const { accountId, record } = await createAccountWithKey(db, { usd: 100 });
    const set = (spendLimit: number | null) =>
      updateKey(db.stores, {
        keyId: record.keyId,
        accountId,
        spendLimit,
        ...(spendLimit === null ? {} : { limitReset: 'monthly' as const }),
      });
    await billing.settle(await hold(record), completed); // before any limit
    await set(5_000_000_000);
    const limited = (await db.stores.keys.findByKeyId(record.keyId)) as KeyRecord;
    await billing.settle(await hold(limited), completed); // on the limit's row

    await set(6_000_000_000);
    await set(null);
    await set(7_000_000_000);

    const row = await db.stores.wallets.keySpend(
      accountId,
      keyBudgetSk(record.keyId, limitPeriod('monthly', new Date())),
    );
    expect(row).toEqual({ spent: 2 * COST, held: 0, used: 2 * COST });
  });
});
