import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BalanceCeilingError,
  CreditLimitTooLargeError,
  MoneyLimitError,
  TopUpTooLargeError,
} from '../../lambdas/store/wallets.ts';
import { MAX_BALANCE_NANO, MAX_CREDIT_LIMIT_NANO, MAX_TOP_UP_NANO, type UsageRow } from '../../lambdas/vocabulary.ts';
import { runOn, runWithEnv } from '../cli/in-process.ts';
import { audit } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const USD = 1_000_000_000;

/** A pending usage row as the proxy writes it. */
const usageRow = (accountId: string, requestId: string, hold: number): UsageRow => {
  const at = new Date().toISOString();
  return {
    accountId,
    sk: `${at}#${requestId}`,
    kind: 'usage',
    requestId,
    status: 'pending',
    hold,
    model: 'gpt-test',
    provider: 'openai',
    upstreamModel: 'gpt-test',
    keyId: 'key_test',
    at,
    prices: { input: 3 * USD, output: 15 * USD },
    discountPpm: 1_000_000,
  };
};

/** The audit of the account, which must balance to the nano-USD. */
const expectExactAudit = async (db: TestDatabase, accountId: string, balance: number) => {
  const result = await audit(db, accountId);
  expect(result).toMatchObject({ balance, expected: balance, difference: 0 });
};

describe('money limits', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('keeps the limits well inside the exact range of nano-USD', () => {
    expect(MAX_TOP_UP_NANO).toBe(1_000_000 * USD);
    expect(MAX_BALANCE_NANO).toBe(5_000_000 * USD);
    expect(MAX_CREDIT_LIMIT_NANO).toBe(1_000_000 * USD);
    // The most a wallet may ever spend (balance + credit limit) stays exact, with room to spare.
    expect(MAX_BALANCE_NANO + MAX_CREDIT_LIMIT_NANO).toBeLessThan(Number.MAX_SAFE_INTEGER * 0.7);
  });

  it('refuses two top-ups of $9,000,000: the balance stays exact and the audit balances', async () => {
    // Prepare
    await db.stores.wallets.create('whale');
    await db.stores.wallets.topUp('whale', 5 * USD, 'seed');

    // Act
    const first = db.stores.wallets.topUp('whale', 9_000_000 * USD, 'big-1');
    const second = db.stores.wallets.topUp('whale', 9_000_000 * USD, 'big-2');

    // Assess
    await expect(first).rejects.toBeInstanceOf(TopUpTooLargeError);
    await expect(second).rejects.toThrow(
      'A top-up of $9000000.00 is more than the maximum of $1000000.00 for one top-up',
    );
    expect(await db.stores.wallets.get('whale')).toMatchObject({ balance: 5 * USD, spendable: 5 * USD });
    await expectExactAudit(db, 'whale', 5 * USD);
  });

  it('refuses the top-up that would carry the balance past the ceiling, naming the limit and the balance', async () => {
    // Prepare
    await db.stores.wallets.create('ceiling');
    for (const id of ['m1', 'm2', 'm3', 'm4']) await db.stores.wallets.topUp('ceiling', MAX_TOP_UP_NANO, id);
    await db.stores.wallets.topUp('ceiling', 999_999 * USD, 'almost');

    // Act
    const over = db.stores.wallets.topUp('ceiling', USD + 1, 'over');

    // Assess
    const error = await over.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(BalanceCeilingError);
    expect(error).toBeInstanceOf(MoneyLimitError);
    expect((error as Error).message).toBe(
      "Top-up refused: account 'ceiling' may hold at most $5000000.00, and its balance is $4999999.00; " +
        'at most $1.00 more can be added.',
    );
    expect(await db.stores.wallets.get('ceiling')).toMatchObject({ balance: 4_999_999 * USD });
    // Exactly up to the ceiling is allowed.
    await db.stores.wallets.topUp('ceiling', USD, 'exact');
    expect((await db.stores.wallets.get('ceiling'))?.balance).toBe(MAX_BALANCE_NANO);
    await expect(db.stores.wallets.topUp('ceiling', 1, 'one-more')).rejects.toBeInstanceOf(BalanceCeilingError);
    await expectExactAudit(db, 'ceiling', MAX_BALANCE_NANO);
  });

  it('still answers a repeated top-up id at the ceiling as already applied, not as refused', async () => {
    await db.stores.wallets.create('repeat');
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) await db.stores.wallets.topUp('repeat', MAX_TOP_UP_NANO, id);

    const again = await db.stores.wallets.topUp('repeat', MAX_TOP_UP_NANO, 'r5');

    expect(again).toMatchObject({ applied: false, amount: MAX_TOP_UP_NANO });
    expect((await db.stores.wallets.get('repeat'))?.balance).toBe(MAX_BALANCE_NANO);
  });

  it('lets at most the allowed top-ups land when several race past the ceiling together', async () => {
    // Prepare: $1,000,000 of room, eight top-ups of $300,000 at once: three fit.
    await db.stores.wallets.create('race');
    for (const id of ['a', 'b', 'c', 'd']) await db.stores.wallets.topUp('race', MAX_TOP_UP_NANO, id);

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) => db.stores.wallets.topUp('race', 300_000 * USD, `race-${index}`)),
    );

    // Assess
    const landed = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result) => result.status === 'rejected');
    expect(landed).toHaveLength(3);
    for (const result of refused) expect(result.reason).toBeInstanceOf(BalanceCeilingError);
    expect((await db.stores.wallets.get('race'))?.balance).toBe(4_900_000 * USD);
    await expectExactAudit(db, 'race', 4_900_000 * USD);
  });

  it('counts money held by requests in flight, so their refunds cannot carry the balance past the ceiling', async () => {
    // Prepare: $5,000,000 with $1,000,000 of credit, all of it held by one request.
    await db.stores.wallets.create('inflight');
    for (const id of ['i1', 'i2', 'i3', 'i4', 'i5']) await db.stores.wallets.topUp('inflight', MAX_TOP_UP_NANO, id);
    await db.stores.wallets.setCreditLimit('inflight', MAX_CREDIT_LIMIT_NANO);
    const row = usageRow('inflight', 'req-huge', 6_000_000 * USD);
    await db.stores.wallets.hold(row);
    expect(await db.stores.wallets.get('inflight')).toMatchObject({ balance: -1_000_000 * USD, spendable: 0 });

    // Act: a top-up while the hold is open, then the request settles at no cost.
    const during = db.stores.wallets.topUp('inflight', MAX_TOP_UP_NANO, 'during');
    await expect(during).rejects.toThrow(
      "Top-up refused: account 'inflight' may hold at most $5000000.00, and its balance is -$1000000.00 " +
        'with $6000000.00 held by requests in flight; at most $0.00 more can be added.',
    );
    await db.stores.wallets.settle(row, { cost: 0, outcome: 'rejected' });

    // Assess
    expect(await db.stores.wallets.get('inflight')).toMatchObject({
      balance: MAX_BALANCE_NANO,
      spendable: MAX_BALANCE_NANO + MAX_CREDIT_LIMIT_NANO,
    });
    await expectExactAudit(db, 'inflight', MAX_BALANCE_NANO);
  });

  it('keeps a wallet written before held money was tracked working: holds, settles and top-ups', async () => {
    // Prepare: the item as the store wrote it before `held` (no such attribute).
    await db.client.send(
      new PutCommand({
        TableName: db.tables.wallets,
        Item: { accountId: 'legacy', balance: 0, creditLimit: 0, spendable: 0, createdAt: '2026-01-01T00:00:00.000Z' },
      }),
    );
    await db.stores.wallets.topUp('legacy', 10 * USD, 'legacy-1');
    const row = usageRow('legacy', 'req-legacy', 4 * USD);

    // Act
    await db.stores.wallets.hold(row);
    await db.stores.wallets.settle(row, { cost: USD, outcome: 'completed' });
    await db.stores.wallets.topUp('legacy', 5 * USD, 'legacy-2');

    // Assess
    expect(await db.stores.wallets.get('legacy')).toMatchObject({ balance: 14 * USD, spendable: 14 * USD });
    await expectExactAudit(db, 'legacy', 14 * USD);
  });

  it('bounds the credit limit, refusing more than the maximum and writing nothing', async () => {
    // Prepare
    await db.stores.wallets.create('credit');

    // Act
    const atMax = await db.stores.wallets.setCreditLimit('credit', MAX_CREDIT_LIMIT_NANO);
    const over = db.stores.wallets.setCreditLimit('credit', MAX_CREDIT_LIMIT_NANO + 1);

    // Assess
    expect(atMax).toMatchObject({ creditLimit: MAX_CREDIT_LIMIT_NANO, spendable: MAX_CREDIT_LIMIT_NANO });
    await expect(over).rejects.toBeInstanceOf(CreditLimitTooLargeError);
    await expect(db.stores.wallets.setCreditLimit('credit', 9_000_000 * USD)).rejects.toThrow(
      "A credit limit of $9000000.00 for account 'credit' is more than the maximum of $1000000.00",
    );
    await expect(db.stores.wallets.setCreditLimit('credit', -1)).rejects.toThrow(RangeError);
    expect(await db.stores.wallets.get('credit')).toMatchObject({
      creditLimit: MAX_CREDIT_LIMIT_NANO,
      spendable: MAX_CREDIT_LIMIT_NANO,
    });
  });

  it('refuses a top-up above the maximum from the CLI as a usage error naming it, before connecting', async () => {
    // Prepare
    await db.stores.wallets.create('cli-whale');

    // Act
    const first = await runOn(db, 'topup', 'cli-whale', '9000000', '--id', 'w-1');
    const offline = await runWithEnv(
      { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' },
      'topup',
      'cli-whale',
      '9000000',
    );
    const balance = await runOn(db, 'balance', 'cli-whale', '--json');
    const audited = await runOn(db, 'audit', 'cli-whale', '--json');

    // Assess
    for (const run of [first, offline]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toBe("tollgate: Invalid amount: '9000000' is more than the maximum of $1000000.00\n");
    }
    expect(JSON.parse(balance.stdout)).toMatchObject({ balance_usd: '0.00', balance_nano: 0 });
    expect(JSON.parse(audited.stdout)).toMatchObject({ ok: true, balance_nano: 0, top_ups_usd: '0.00' });
  });

  it("refuses a top-up past the wallet ceiling from the CLI with exit 1 and the store's message as it is", async () => {
    // Prepare
    await db.stores.wallets.create('cli-full');
    for (const id of ['c1', 'c2', 'c3', 'c4', 'c5']) await db.stores.wallets.topUp('cli-full', MAX_TOP_UP_NANO, id);

    // Act
    const human = await runOn(db, 'topup', 'cli-full', '0.01', '--id', 'one-cent');
    const json = await runOn(db, 'topup', 'cli-full', '0.01', '--id', 'one-cent', '--json');

    // Assess
    const message =
      "Top-up refused: account 'cli-full' may hold at most $5000000.00, and its balance is $5000000.00; " +
      'at most $0.00 more can be added.';
    expect(human).toMatchObject({ code: 1, stdout: '', stderr: `tollgate: ${message}\n` });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: { message } });
    expect((await db.stores.wallets.get('cli-full'))?.balance).toBe(MAX_BALANCE_NANO);
  });

  it('refuses a credit limit above the maximum from the CLI as a usage error naming it', async () => {
    await db.stores.wallets.create('cli-credit');

    const run = await runOn(db, 'accounts', 'set', 'cli-credit', '--credit-limit', '5000000');

    expect(run.code).toBe(2);
    expect(run.stderr).toBe("tollgate: Invalid credit limit: '5000000' is more than the maximum of $1000000.00\n");
    expect((await db.stores.wallets.get('cli-credit'))?.creditLimit).toBe(0);
  });
});
