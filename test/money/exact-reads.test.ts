import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptRecordError, UnsafeAmountError } from '../../lambdas/store/wallets.ts';
import { runOn } from '../cli/in-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

/** 2^54 + 1: a JS number would read it as 2^54, one nano-USD off. */
const BEYOND = '18014398509481985';
/** 2^53 + 1: the first integer a JS number cannot hold. */
const JUST_BEYOND = '9007199254740993';

/** Writes a wallet item straight into DynamoDB, bypassing the store (a hand edit, a bug elsewhere). */
const putRawWallet = (db: TestDatabase, accountId: string, numbers: Record<string, string>) =>
  db.client.send(
    new PutItemCommand({
      TableName: db.tables.wallets,
      Item: {
        accountId: { S: accountId },
        balance: { N: '0' },
        creditLimit: { N: '0' },
        spendable: { N: '0' },
        createdAt: { S: '2026-01-01T00:00:00.000Z' },
        ...Object.fromEntries(Object.entries(numbers).map(([name, text]) => [name, { N: text }])),
      },
    }),
  );

const putRawLedgerRow = (db: TestDatabase, item: Record<string, AttributeValue>) =>
  db.client.send(new PutItemCommand({ TableName: db.tables.ledger, Item: item }));

/** A final usage row as DynamoDB holds it, to write straight: a hand edit, or a row an older version wrote. */
const rawUsageItem = (
  accountId: string,
  requestId: string,
  at: string,
  fields: Record<string, AttributeValue> = {},
): Record<string, AttributeValue> => ({
  accountId: { S: accountId },
  sk: { S: `${at}#${requestId}` },
  kind: { S: 'usage' },
  requestId: { S: requestId },
  status: { S: 'final' },
  hold: { N: '10' },
  cost: { N: '0' },
  model: { S: 'm' },
  provider: { S: 'openai' },
  upstreamModel: { S: 'm' },
  keyId: { S: 'key_x' },
  at: { S: at },
  prices: { M: { input: { N: '1' }, output: { N: '2' } } },
  discountPpm: { N: '1000000' },
  ...fields,
});

/** A usage row as a hold writes it (pending), for the store to settle. */
const heldRow = (accountId: string, requestId: string, at: string) => ({
  accountId,
  sk: `${at}#${requestId}`,
  kind: 'usage' as const,
  requestId,
  status: 'pending' as const,
  hold: 10,
  model: 'm',
  provider: 'openai',
  upstreamModel: 'm',
  keyId: 'key_x',
  at,
  prices: { input: 1, output: 2 },
  discountPpm: 1_000_000,
});

describe('amounts read from DynamoDB', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('reads a balance beyond 2^53 as an error naming the account, never as a rounded number', async () => {
    // Prepare
    await putRawWallet(db, 'huge', { balance: BEYOND, spendable: BEYOND });

    // Act
    const read = db.stores.wallets.get('huge');

    // Assess
    await expect(read).rejects.toBeInstanceOf(UnsafeAmountError);
    await expect(db.stores.wallets.get('huge')).rejects.toThrow(
      `Account 'huge': the wallet's balance is stored as ${BEYOND}, which is not a whole number of nano-USD ` +
        'within ±9007199254740991 (±$9007199.254740991); refusing to read it rounded. Fix the item in the wallets table.',
    );
  });

  it('refuses the first integer a JS number cannot hold, in any money attribute', async () => {
    for (const field of ['balance', 'creditLimit', 'spendable']) {
      await putRawWallet(db, `edge-${field}`, { [field]: JUST_BEYOND });
      await expect(db.stores.wallets.get(`edge-${field}`)).rejects.toThrow(
        `wallet's ${field} is stored as ${JUST_BEYOND}`,
      );
    }
    await putRawWallet(db, 'negative', { balance: `-${JUST_BEYOND}` });
    await expect(db.stores.wallets.get('negative')).rejects.toBeInstanceOf(UnsafeAmountError);
  });

  it('refuses a fraction of a nano-USD rather than rounding it', async () => {
    await putRawWallet(db, 'fraction', { balance: '1.5' });
    await expect(db.stores.wallets.get('fraction')).rejects.toThrow("wallet's balance is stored as 1.5");
  });

  it('reads the largest exact amount exactly', async () => {
    const max = String(Number.MAX_SAFE_INTEGER);
    await putRawWallet(db, 'max', { balance: max, spendable: max });
    expect(await db.stores.wallets.get('max')).toMatchObject({
      balance: Number.MAX_SAFE_INTEGER,
      spendable: Number.MAX_SAFE_INTEGER,
    });
  });

  it('refuses a wallet item that lacks a money attribute instead of reading it as undefined', async () => {
    await db.client.send(
      new PutItemCommand({ TableName: db.tables.wallets, Item: { accountId: { S: 'hollow' }, createdAt: { S: 'x' } } }),
    );
    const read = db.stores.wallets.get('hollow');
    await expect(read).rejects.toBeInstanceOf(CorruptRecordError);
    await expect(db.stores.wallets.get('hollow')).rejects.toThrow("Account 'hollow': the wallet has no balance");
  });

  it('reads a ledger amount beyond 2^53 as an error naming the account and the row', async () => {
    // Prepare
    await db.stores.wallets.create('ledgered');
    await db.stores.wallets.topUp('ledgered', 1_000_000_000, 'fine');
    const sk = '2026-01-02T00:00:00.000Z#topup#bad';
    await putRawLedgerRow(db, {
      accountId: { S: 'ledgered' },
      sk: { S: sk },
      kind: { S: 'topup' },
      topUpId: { S: 'bad' },
      amount: { N: BEYOND },
      at: { S: '2026-01-02T00:00:00.000Z' },
    });

    // Act
    const all = db.stores.wallets.allLedgerRows('ledgered');
    const page = db.stores.wallets.ledger('ledgered');

    // Assess (both at once: neither rejection may wait unhandled while the other is checked)
    await Promise.all([
      expect(all).rejects.toThrow(
        `Account 'ledgered': ledger row '${sk}' has its amount stored as ${BEYOND}, which is not a whole number of nano-USD`,
      ),
      expect(page).rejects.toBeInstanceOf(UnsafeAmountError),
    ]);
  });

  it('reads a usage row hold or price beyond 2^53 as an error', async () => {
    await db.stores.wallets.create('usage-bad');
    const at = '2026-01-03T00:00:00.000Z';
    const row = (requestId: string, hold: string, input: string) =>
      rawUsageItem('usage-bad', requestId, at, {
        hold: { N: hold },
        prices: { M: { input: { N: input }, output: { N: '1' } } },
      });
    await putRawLedgerRow(db, row('r1', JUST_BEYOND, '1'));
    await expect(db.stores.wallets.allLedgerRows('usage-bad')).rejects.toThrow(`hold stored as ${JUST_BEYOND}`);
    await putRawLedgerRow(db, row('r1', '1', BEYOND));
    await expect(db.stores.wallets.allLedgerRows('usage-bad')).rejects.toThrow(`prices.input stored as ${BEYOND}`);
  });

  it('keeps the upstream raw usage as it came, numbers and all', async () => {
    await db.stores.wallets.create('raw');
    const row = heldRow('raw', 'req', '2026-01-04T00:00:00.000Z');
    await db.stores.wallets.topUp('raw', 100, 'raw-seed');
    await db.stores.wallets.hold(row);
    await db.stores.wallets.settle(row, {
      cost: 7,
      outcome: 'completed',
      usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 },
      rawUsage: { prompt_tokens: 1, completion_tokens: 2, cost: 0.25, details: [{ n: 3 }] },
    });

    const [settled] = (await db.stores.wallets.allLedgerRows('raw')).filter((entry) => entry.kind === 'usage');

    expect(settled).toMatchObject({
      status: 'final',
      cost: 7,
      hold: 10,
      rawUsage: { prompt_tokens: 1, completion_tokens: 2, cost: 0.25, details: [{ n: 3 }] },
      usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
  });

  it('stores the raw usage as JSON text, and still reads the map of a row written before', async () => {
    // Prepare: a row settled now, and one as rows were written before (the usage as a map)
    await db.stores.wallets.create('raw-text');
    const row = heldRow('raw-text', 'now', '2026-01-05T00:00:00.000Z');
    const rawUsage = { prompt_tokens: 1, completion_tokens: 2, cost: 0.25, details: [{ n: 3 }], note: 'x"y' };
    await db.stores.wallets.topUp('raw-text', 100, 'raw-text-seed');
    await db.stores.wallets.hold(row);
    await db.stores.wallets.settle(row, { cost: 7, outcome: 'completed', rawUsage });
    await putRawLedgerRow(
      db,
      rawUsageItem('raw-text', 'before', '2026-01-04T00:00:00.000Z', {
        cost: { N: '7' },
        rawUsage: { M: { prompt_tokens: { N: '1' }, completion_tokens: { N: '2' } } },
      }),
    );

    // Act
    const stored = await db.client.send(
      new GetItemCommand({ TableName: db.tables.ledger, Key: { accountId: { S: 'raw-text' }, sk: { S: row.sk } } }),
    );
    const rows = (await db.stores.wallets.allLedgerRows('raw-text')).filter((entry) => entry.kind === 'usage');

    // Assess
    expect(stored.Item?.['rawUsageJson']).toEqual({ S: JSON.stringify(rawUsage) });
    expect(stored.Item?.['rawUsage']).toBeUndefined();
    expect(rows.find((entry) => entry.sk === row.sk)).toMatchObject({ status: 'final', cost: 7, rawUsage });
    expect(rows.find((entry) => entry.sk.endsWith('#before'))).toMatchObject({
      rawUsage: { prompt_tokens: 1, completion_tokens: 2 },
    });
  });

  it('refuses raw usage text that is not JSON, naming the row', async () => {
    await putRawLedgerRow(
      db,
      rawUsageItem('raw-bad', 'bad', '2026-01-04T00:00:00.000Z', { rawUsageJson: { S: '{"prompt_tokens":' } }),
    );

    await expect(db.stores.wallets.allLedgerRows('raw-bad')).rejects.toThrow(
      "Account 'raw-bad': ledger row '2026-01-04T00:00:00.000Z#bad' has no JSON rawUsageJson",
    );
  });

  it('prints a clear error from balance and audit, not a stack trace or a rounded figure', async () => {
    // Prepare
    await putRawWallet(db, 'cli-huge', { balance: BEYOND, spendable: BEYOND });

    // Act
    const balance = await runOn(db, 'balance', 'cli-huge');
    const audited = await runOn(db, 'audit', 'cli-huge');
    const json = await runOn(db, 'balance', 'cli-huge', '--json');

    // Assess
    for (const run of [balance, audited]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`Account 'cli-huge': the wallet's balance is stored as ${BEYOND}`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stderr).not.toContain('18014398509481984');
    }
    expect(JSON.parse(json.stdout).error.message).toContain("Account 'cli-huge'");
  });
});
