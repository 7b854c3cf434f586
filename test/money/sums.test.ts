import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../../lambdas/gateway/audit.ts';
import { auditAccount, auditAccounts } from '../../lambdas/services/audit.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import type { LedgerRow, TopUpRow, UsageRow } from '../../lambdas/vocabulary.ts';
import { runOn } from '../cli/in-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

/**
 * $999,999.999999999: an odd amount just under the $1,000,000 top-up maximum. Eleven of them add up
 * to 10_999_999_999_999_989 nano-USD, past 2^53, where a sum in JS numbers rounds to an even number.
 */
const LARGE = 999_999_999_999_999;
const TOP_UPS = 11;
const COSTS = 10;
/** Σ top-ups − Σ settled costs: one LARGE, the balance of the account below. */
const BALANCE = LARGE;

const time = (index: number): string => new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString();

const topUpRow = (accountId: string, index: number): TopUpRow => ({
  accountId,
  sk: `${time(index)}#topup#big-${index}`,
  kind: 'topup',
  topUpId: `big-${index}`,
  amount: LARGE,
  at: time(index),
});

const settledRow = (accountId: string, index: number): UsageRow => ({
  accountId,
  sk: `${time(100 + index)}#req-${index}`,
  kind: 'usage',
  requestId: `req-${index}`,
  status: 'final',
  hold: LARGE,
  cost: LARGE,
  outcome: 'completed',
  model: 'gpt-test',
  provider: 'openai',
  upstreamModel: 'gpt-test',
  keyId: 'key_test',
  at: time(100 + index),
  prices: { input: 1, output: 1 },
  discountPpm: 1_000_000,
});

/** A ledger as years of $1M top-ups and big requests leave it: every row exact, their sums past 2^53. */
const bigLedger = (accountId: string): LedgerRow[] => [
  ...Array.from({ length: TOP_UPS }, (_, index) => topUpRow(accountId, index)),
  ...Array.from({ length: COSTS }, (_, index) => settledRow(accountId, index)),
];

/** Writes the wallet and its ledger straight into DynamoDB (the store refuses to build it by top-ups). */
const putBigAccount = async (db: TestDatabase, accountId: string): Promise<void> => {
  await db.client.send(
    new PutCommand({
      TableName: db.tables.wallets,
      Item: { accountId, balance: BALANCE, creditLimit: 0, spendable: BALANCE, createdAt: time(0) },
    }),
  );
  for (const row of bigLedger(accountId))
    await db.client.send(new PutCommand({ TableName: db.tables.ledger, Item: row }));
};

describe('sums over many large rows', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await putBigAccount(db, 'whale');
  });

  it('would lose a nano-USD in JS numbers: the premise of these tests', () => {
    const asNumbers = Array.from({ length: TOP_UPS }, () => LARGE).reduce((sum, amount) => sum + amount, 0);

    expect(BigInt(asNumbers)).not.toBe(BigInt(LARGE) * BigInt(TOP_UPS));
  });

  it('audits a ledger whose sums pass 2^53 nano-USD exactly, in bigints', () => {
    const wallet = { accountId: 'whale', balance: BALANCE, creditLimit: 0, spendable: BALANCE, createdAt: time(0) };

    const result = auditLedger(wallet, bigLedger('whale'));

    expect(result).toMatchObject({
      topUps: 10_999_999_999_999_989n,
      settledCosts: 9_999_999_999_999_990n,
      openHolds: 0n,
      expected: BigInt(BALANCE),
      difference: 0n,
      rows: TOP_UPS + COSTS,
    });
  });

  it("passes the account's audit to the nano-USD, the sums as exact USD strings (their _nano null past 2^53)", async () => {
    expect(await auditAccount(db.stores, { accountId: 'whale' })).toEqual({
      account: 'whale',
      ok: true,
      top_ups_usd: '10999999.999999989',
      top_ups_nano: null,
      adjustments_usd: '0.00',
      adjustments_nano: 0,
      settled_costs_usd: '9999999.99999999',
      settled_costs_nano: null,
      open_holds: 0,
      open_holds_usd: '0.00',
      open_holds_nano: 0,
      expected_balance_usd: '999999.999999999',
      expected_balance_nano: BALANCE,
      balance_usd: '999999.999999999',
      balance_nano: BALANCE,
      difference_usd: '0.00',
      difference_nano: 0,
      ledger_rows: TOP_UPS + COSTS,
      open_leases: 0,
      lease_mismatches: [],
      stable: true,
    });
  });

  it("totals a usage page's top-ups and costs exactly", async () => {
    const listing = await listUsage(db.stores, { accountId: 'whale' });

    expect(listing.ledger.data).toHaveLength(TOP_UPS + COSTS);
    expect(listing.totals).toEqual({
      requests: COSTS,
      pending: 0,
      cost_usd: '9999999.99999999',
      cost_nano: null,
      held_usd: '0.00',
      held_nano: 0,
      top_ups: TOP_UPS,
      top_ups_usd: '10999999.999999989',
      top_ups_nano: null,
      usage: { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 },
    });
    // Each row keeps its exact amount as a number: the limits keep one row within range.
    expect(listing.ledger.data.find((row) => row.type === 'topup')).toMatchObject({ amount_nano: LARGE });
  });

  it('prints the same exact figures from the CLI', async () => {
    const audit = await runOn(db, 'audit', 'whale');
    const usage = await runOn(db, 'usage', 'whale');

    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/top-ups\s+\$10999999\.999999989\n/);
    expect(usage.stdout).toContain('costing $9999999.99999999; top-ups $10999999.999999989\n');
  });
});

describe('audit --all past an account it cannot read', () => {
  let db: TestDatabase;
  /** 2^54 + 1: a JS number would read it as 2^54. */
  const BEYOND = 18_014_398_509_481_985n;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.stores.wallets.create('alpha');
    await db.stores.wallets.topUp('alpha', 1_000_000_000, 'alpha-1');
    await db.stores.wallets.create('omega');
    await db.stores.wallets.topUp('omega', 2_000_000_000, 'omega-1');
    // A wallet whose balance no JS number holds, and an account with a corrupt ledger row.
    await db.client.send(
      new PutCommand({
        TableName: db.tables.wallets,
        Item: { accountId: 'huge', balance: BEYOND, creditLimit: 0, spendable: BEYOND, createdAt: time(0) },
      }),
    );
    await db.stores.wallets.create('mangled');
    await db.client.send(
      new PutCommand({
        TableName: db.tables.ledger,
        Item: {
          accountId: 'mangled',
          sk: `${time(1)}#topup#x`,
          kind: 'topup',
          topUpId: 'x',
          amount: 'ten',
          at: time(1),
        },
      }),
    );
  });

  it('audits the other accounts and lists each unreadable one with the reason', async () => {
    const all = await auditAccounts(db.stores, { accountIds: ['omega', 'huge', 'alpha', 'mangled'] });

    expect(all).toMatchObject({ ok: false, audited: 2, failed: 0 });
    expect(all.accounts.map((audit) => [audit.account, audit.ok])).toEqual([
      ['alpha', true],
      ['omega', true],
    ]);
    expect(all.unreadable).toEqual([
      {
        account: 'huge',
        message: expect.stringContaining(`Account 'huge': the wallet's balance is stored as ${BEYOND}`),
      },
      { account: 'mangled', message: expect.stringContaining("Account 'mangled': ledger row") },
    ]);
  });

  it('prints every readable account, names the unreadable ones, and exits 1 at the end', async () => {
    const human = await runOn(db, 'audit', '--all');
    const json = await runOn(db, 'audit', '--all', '--json');

    expect(human.code).toBe(1);
    expect(human.stderr).toBe('');
    expect(human.stdout).toMatch(/^alpha\s+\$1\.00\s+\$1\.00\s+\$0\.00\s+0 \(\$0\.00\)\s+ok$/m);
    expect(human.stdout).toMatch(/^omega\s+\$2\.00\s+\$2\.00\s+\$0\.00\s+0 \(\$0\.00\)\s+ok$/m);
    expect(human.stdout).toContain(`UNREADABLE huge: Account 'huge': the wallet's balance is stored as ${BEYOND}`);
    expect(human.stdout).not.toContain('18014398509481984');
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe(
      'AUDIT FAILED: 2 accounts could not be read: huge, mangled. Run npx tollgate audit <account> for the details.',
    );
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      audited: 2,
      failed: 0,
      unreadable: [{ account: 'huge' }, { account: 'mangled' }],
      error: { message: expect.stringMatching(/^AUDIT FAILED: 2 accounts could not be read/) },
    });
  });
});
