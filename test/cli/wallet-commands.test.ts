import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccount, getBalance, setAccount, topUp } from '../../lambdas/cli/accounts.ts';
import { auditAccount, auditAccounts } from '../../lambdas/cli/audit.ts';
import { describeDiscount, formatPpm } from '../../lambdas/cli/format.ts';
import { listUsage, type UsageEntry } from '../../lambdas/cli/ledger.ts';
import { runCli } from '../../lambdas/cli/main.ts';
import { sweepHolds } from '../../lambdas/cli/sweep.ts';
import { CommandError, UsageError } from '../../lambdas/services/errors.ts';
import { parseDiscount } from '../../lambdas/services/validate.ts';
import type { UsageRow } from '../../lambdas/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

/** A pending usage row as the proxy writes it: $3 / $15 per million tokens, full price. */
const usageRow = (accountId: string, requestId: string, at: Date, hold: number): UsageRow => ({
  accountId,
  sk: `${at.toISOString()}#${requestId}`,
  kind: 'usage',
  requestId,
  status: 'pending',
  hold,
  model: 'gpt-test',
  provider: 'openai',
  upstreamModel: 'gpt-test-2026',
  keyId: 'key_test',
  at: at.toISOString(),
  prices: { input: 3_000_000_000, output: 15_000_000_000 },
  discountPpm: 1_000_000,
});

const tokens = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWriteTokens,
});

/** Runs the CLI in-process against this file's tables (no spawn). */
const cli = async (db: TestDatabase, ...argv: string[]) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { TOLLGATE_DYNAMODB_ENDPOINT: db.endpoint, TOLLGATE_TABLE_PREFIX: db.prefix },
  });
  return { code, stdout, stderr };
};

/** Moves a wallet's balance behind the ledger's back, as a bug or a hand edit would. */
const corruptBalance = (db: TestDatabase, accountId: string, nano: number) =>
  db.client.send(
    new UpdateCommand({
      TableName: db.tables.wallets,
      Key: { accountId },
      UpdateExpression: 'SET balance = balance + :d',
      ExpressionAttributeValues: { ':d': nano },
    }),
  );

describe('discount parsing', () => {
  it.each([
    ['0.8', 800_000],
    ['0.333333', 333_333],
    ['1', 1_000_000],
    ['1.0', 1_000_000],
    ['0.000001', 1],
    ['0.05', 50_000],
    [' 0.75 ', 750_000],
  ])('parses %j exactly to %i parts per million', (text, ppm) => {
    expect(parseDiscount(text)).toBe(ppm);
  });

  it.each(['0', '0.0', '1.5', '2', '0.1234567', 'abc', '', '-0.5', '.8', '80%', '1e-1', '0,8'])(
    'refuses %j as a usage error',
    (text) => {
      expect(() => parseDiscount(text)).toThrow(UsageError);
    },
  );

  it('says why a discount is refused', () => {
    expect(() => parseDiscount('0.1234567')).toThrow('at most 6 decimals');
    expect(() => parseDiscount('1.5')).toThrow('0.8 = 20% off');
  });

  it('formats parts per million back as the same decimal, and as a percentage off', () => {
    expect([800_000, 333_333, 1_000_000, 1, 50_000].map(formatPpm)).toEqual([
      '0.8',
      '0.333333',
      '1',
      '0.000001',
      '0.05',
    ]);
    expect(describeDiscount(800_000)).toBe('0.8 of list price (20% off)');
    expect(describeDiscount(333_333)).toBe('0.333333 of list price (66.6667% off)');
    expect(describeDiscount(1_000_000)).toBe('none');
  });
});

describe('accounts set and balance', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('shows balance, credit limit, available funds and no discount for a new account', async () => {
    await createAccount(db.stores, 'fresh');
    await topUp(db.stores, 'fresh', '2.50');
    expect(await getBalance(db.stores, 'fresh')).toEqual({
      account: 'fresh',
      balance_usd: '2.50',
      balance_nano: 2_500_000_000,
      credit_limit_usd: '0.00',
      credit_limit_nano: 0,
      available_usd: '2.50',
      available_nano: 2_500_000_000,
      discount: '1',
      discount_ppm: 1_000_000,
    });
  });

  it('raises what the account may spend by exactly the credit limit, and lowers it back', async () => {
    // Prepare
    await createAccount(db.stores, 'credit');
    await topUp(db.stores, 'credit', '1.000000001');
    const before = await db.stores.wallets.get('credit');

    // Act
    const raised = await setAccount(db.stores, 'credit', { creditLimit: '12.345678901' });
    const after = await db.stores.wallets.get('credit');

    // Assess
    expect(raised).toMatchObject({
      balance_usd: '1.000000001',
      credit_limit_usd: '12.345678901',
      available_usd: '13.345678902',
      available_nano: 13_345_678_902,
    });
    expect((after?.spendable ?? 0) - (before?.spendable ?? 0)).toBe(12_345_678_901);
    expect(after?.balance).toBe(before?.balance);
    // A hold beyond the balance but within balance + credit now commits.
    await db.stores.wallets.hold(usageRow('credit', 'req-credit', new Date(), 5_000_000_000));
    expect(await getBalance(db.stores, 'credit')).toMatchObject({
      balance_usd: '-3.999999999',
      available_usd: '8.345678902',
    });
    expect(await setAccount(db.stores, 'credit', { creditLimit: '5' })).toMatchObject({ available_usd: '1.000000001' });
  });

  it('stores a discount as parts per million and shows it as a decimal', async () => {
    await createAccount(db.stores, 'discounted');
    const set = await setAccount(db.stores, 'discounted', { discount: '0.333333', creditLimit: '0' });
    expect(set).toMatchObject({ discount: '0.333333', discount_ppm: 333_333, credit_limit_usd: '0.00' });
    expect((await db.stores.wallets.get('discounted'))?.discountPpm).toBe(333_333);
    expect((await getBalance(db.stores, 'discounted')).discount).toBe('0.333333');
  });

  it('refuses no setting, a bad value (writing nothing) and an unknown account', async () => {
    await createAccount(db.stores, 'careful');
    await expect(setAccount(db.stores, 'careful', {})).rejects.toThrow(UsageError);
    await expect(setAccount(db.stores, 'careful', { creditLimit: '-1' })).rejects.toThrow(UsageError);
    await expect(setAccount(db.stores, 'careful', { creditLimit: '10', discount: '1.5' })).rejects.toThrow(UsageError);
    expect((await db.stores.wallets.get('careful'))?.creditLimit).toBe(0);
    await expect(setAccount(db.stores, 'ghost', { discount: '0.5' })).rejects.toThrow(CommandError);
    await expect(setAccount(db.stores, 'ghost', { creditLimit: '1' })).rejects.toThrow("Unknown account 'ghost'");
  });

  it('prints the updated wallet, with --json as one object', async () => {
    await createAccount(db.stores, 'printed');
    const human = await cli(db, 'accounts', 'set', 'printed', '--credit-limit', '50', '--discount', '0.8');
    const json = await cli(db, 'balance', 'printed', '--json');
    expect(human).toMatchObject({ code: 0, stderr: '' });
    expect(human.stdout).toBe(
      'Updated printed: balance $0.00, credit limit $50.00, available $50.00, discount 0.8 of list price (20% off)\n',
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      credit_limit_usd: '50.00',
      available_usd: '50.00',
      discount: '0.8',
    });
  });

  it('exits 2 before connecting when no setting or a malformed one is given', async () => {
    expect((await cli(db, 'accounts', 'set', 'printed')).code).toBe(2);
    const bad = await cli(db, 'accounts', 'set', 'printed', '--discount', '0', '--json');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toEqual({ error: { message: expect.stringContaining("Invalid discount '0'") } });
  });
});

describe('usage', () => {
  let db: TestDatabase;
  const t0 = new Date('2026-11-01T08:00:00.000Z');
  const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, 'user');
    await db.stores.wallets.topUp('user', 5_000_000_000, 'inv-1', t0);
    const done = usageRow('user', 'req-done', at(1), 50_000_000);
    await db.stores.wallets.hold(done);
    await db.stores.wallets.settle(done, {
      cost: 10_500_000,
      outcome: 'completed',
      usage: tokens(1_000, 500, 200, 0),
      rawUsage: { prompt_tokens: 1_200, completion_tokens: 500 },
    });
    await db.stores.wallets.hold(usageRow('user', 'req-open', at(2), 20_000_000));
    const guessed = usageRow('user', 'req-guessed', at(3), 30_000_000);
    await db.stores.wallets.hold(guessed);
    await db.stores.wallets.settle(guessed, {
      cost: 3_000_000,
      outcome: 'client_disconnected',
      usage: tokens(1_000, 0),
      estimated: true,
    });
  });

  it('lists requests and top-ups newest first, with exact amounts and tokens', async () => {
    const listing = await listUsage(db.stores, 'user');

    expect(listing.rows.map((row) => (row.kind === 'usage' ? row.request_id : row.top_up_id))).toEqual([
      'req-guessed',
      'req-open',
      'req-done',
      'inv-1',
    ]);
    const [guessed, open, done, topUp] = listing.rows;
    expect(done).toEqual<UsageEntry>({
      kind: 'usage',
      at: '2026-11-01T08:01:00.000Z',
      request_id: 'req-done',
      model: 'gpt-test',
      fallback_from: null,
      provider: 'openai',
      key_id: 'key_test',
      status: 'final',
      outcome: 'completed',
      tokens: { input: 1_000, output: 500, cache_read: 200, cache_write: 0 },
      hold_usd: '0.05',
      hold_nano: 50_000_000,
      cost_usd: '0.0105',
      cost_nano: 10_500_000,
      discount: '1',
      estimated: false,
    });
    expect(open).toMatchObject({
      status: 'pending',
      outcome: 'pending',
      tokens: null,
      cost_usd: null,
      hold_usd: '0.02',
    });
    expect(guessed).toMatchObject({ outcome: 'client_disconnected', cost_usd: '0.003', estimated: true });
    expect(topUp).toEqual({
      kind: 'topup',
      at: '2026-11-01T08:00:00.000Z',
      top_up_id: 'inv-1',
      amount_usd: '5.00',
      amount_nano: 5_000_000_000,
    });
    expect(listing.totals).toEqual({
      requests: 3,
      pending: 1,
      cost_usd: '0.0135',
      cost_nano: 13_500_000,
      held_usd: '0.02',
      held_nano: 20_000_000,
      top_ups: 1,
      top_ups_usd: '5.00',
      top_ups_nano: 5_000_000_000,
      tokens: { input: 2_000, output: 500, cache_read: 200, cache_write: 0 },
    });
    expect(listing.next_cursor).toBeNull();
  });

  it('pages with --limit and --cursor through the same rows', async () => {
    const all = await listUsage(db.stores, 'user');
    const seen: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const listing = await listUsage(db.stores, 'user', { limit: '3', ...(cursor ? { cursor } : {}) });
      expect(listing.rows.length).toBeLessThanOrEqual(3);
      seen.push(...listing.rows);
      if (listing.next_cursor === null) break;
      cursor = listing.next_cursor;
    }
    expect(seen).toEqual(all.rows);
  });

  it('keeps only rows at or after --since, a date or a time', async () => {
    const fromTime = await listUsage(db.stores, 'user', { since: '2026-11-01T08:02:00Z' });
    expect(fromTime.since).toBe('2026-11-01T08:02:00.000Z');
    expect(fromTime.rows.map((row) => row.at)).toEqual(['2026-11-01T08:03:00.000Z', '2026-11-01T08:02:00.000Z']);
    expect((await listUsage(db.stores, 'user', { since: '2026-11-02' })).rows).toEqual([]);
    expect((await listUsage(db.stores, 'user', { since: '2026-11-01' })).rows).toHaveLength(4);
  });

  it.each([{ limit: '0' }, { limit: '1001' }, { limit: 'ten' }, { since: 'yesterday' }, { cursor: 'abc' }])(
    'refuses %j as a usage error',
    async (options) => {
      await expect(listUsage(db.stores, 'user', options)).rejects.toThrow(UsageError);
    },
  );

  it('shows the model billed and the one first routed to when a fallback answered', async () => {
    await createAccount(db.stores, 'fell-back');
    await topUp(db.stores, 'fell-back', '1');
    const row = usageRow('fell-back', 'req-fallback', t0, 10_000_000);
    await db.stores.wallets.hold(row);
    await db.stores.wallets.settle(row, {
      cost: 1_000,
      outcome: 'completed',
      usage: tokens(1, 1),
      fallbackFrom: 'gpt-test',
      model: 'gpt-spare',
    });

    const entry = (await listUsage(db.stores, 'fell-back')).rows.find((row) => row.kind === 'usage');
    const { stdout } = await cli(db, 'usage', 'fell-back');

    expect(entry).toMatchObject({ model: 'gpt-spare', fallback_from: 'gpt-test' });
    expect(stdout).toMatch(/req-fallback\s+gpt-spare \(fallback from gpt-test\)\s+completed/);
  });

  it('refuses an unknown account rather than showing it empty', async () => {
    await expect(listUsage(db.stores, 'ghost')).rejects.toThrow("Unknown account 'ghost'");
  });

  it('prints a table with a totals line, and a cursor hint when there is more', async () => {
    const { code, stdout } = await cli(db, 'usage', 'user', '--limit', '3');
    const lines = stdout.trimEnd().split('\n');

    expect(code).toBe(0);
    expect(lines[0]).toMatch(
      /^TIME\s+REQUEST \/ TOP-UP\s+MODEL\s+OUTCOME\s+IN\s+OUT\s+CACHE READ\s+CACHE WRITE\s+USD$/,
    );
    expect(lines[1]).toMatch(
      /^2026-11-01T08:03:00.000Z\s+req-guessed\s+gpt-test\s+client_disconnected\s+1000\s+0\s+0\s+0\s+\$0\.003 \(estimated\)$/,
    );
    expect(lines[2]).toMatch(/^2026-11-01T08:02:00.000Z\s+req-open\s+gpt-test\s+pending\s+hold \$0\.02$/);
    expect(lines[3]).toMatch(/req-done\s+gpt-test\s+completed\s+1000\s+500\s+200\s+0\s+\$0\.0105$/);
    expect(lines[5]).toBe(
      'Shown: 3 rows, 3 requests costing $0.0135 + $0.02 held by 1 pending; tokens 2000 in, 500 out, 200 cache read, 0 cache write',
    );
    expect(lines[6]).toBe("Older rows: tollgate usage user --limit 3 --cursor '2026-11-01T08:01:00.000Z#req-done'");
  });

  it('prints one JSON object with rows, totals and next_cursor', async () => {
    const { code, stdout } = await cli(db, 'usage', 'user', '--since', '2026-11-01', '--json');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(stdout) as { account: string; rows: unknown[]; next_cursor: unknown; totals: unknown };
    expect(parsed).toMatchObject({ account: 'user', next_cursor: null, totals: { cost_usd: '0.0135' } });
    expect(parsed.rows).toHaveLength(4);
  });
});

describe('audit', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  /** An account with two top-ups, a settled request and an open hold. */
  const busyAccount = async (account: string): Promise<void> => {
    await createAccount(db.stores, account);
    await topUp(db.stores, account, '10');
    await topUp(db.stores, account, '0.000000007');
    const settled = usageRow(account, 'req-settled', new Date(), 40_000_000);
    await db.stores.wallets.hold(settled);
    await db.stores.wallets.settle(settled, { cost: 12_345_678, outcome: 'completed', usage: tokens(10, 20) });
    await db.stores.wallets.hold(usageRow(account, 'req-open', new Date(), 1_000_000_000));
  };

  it('passes an account whose balance equals top-ups − settled costs − open holds', async () => {
    await busyAccount('sound');

    expect(await auditAccount(db.stores, 'sound')).toEqual({
      account: 'sound',
      ok: true,
      top_ups_usd: '10.000000007',
      top_ups_nano: 10_000_000_007,
      settled_costs_usd: '0.012345678',
      settled_costs_nano: 12_345_678,
      open_holds: 1,
      open_holds_usd: '1.00',
      open_holds_nano: 1_000_000_000,
      expected_balance_usd: '8.987654329',
      expected_balance_nano: 8_987_654_329,
      balance_usd: '8.987654329',
      balance_nano: 8_987_654_329,
      difference_usd: '0.00',
      difference_nano: 0,
      ledger_rows: 4,
      stable: true,
    });
    const run = await cli(db, 'audit', 'sound');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('OK: the balance equals top-ups − settled costs − open holds');
  });

  it('fails with exit 1 and AUDIT FAILED when the balance was changed behind the ledger', async () => {
    // Prepare
    await busyAccount('tampered');
    await corruptBalance(db, 'tampered', 1);

    // Act
    const audit = await auditAccount(db.stores, 'tampered');
    const human = await cli(db, 'audit', 'tampered');
    const json = await cli(db, 'audit', 'tampered', '--json');

    // Assess
    expect(audit).toMatchObject({ ok: false, difference_usd: '0.000000001', difference_nano: 1, stable: true });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/difference\s+\$0\.000000001/);
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe(
      'AUDIT FAILED: the balance of tampered is $8.98765433 but its ledger adds up to $8.987654329 ' +
        '(top-ups $10.000000007 − settled costs $0.012345678 − 1 open hold $1.00): a difference of $0.000000001.',
    );
    expect(json.code).toBe(1);
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      account: 'tampered',
      ok: false,
      difference_nano: 1,
      error: { message: expect.stringMatching(/^AUDIT FAILED: /) },
    });
  });

  it('audits every account with --all and fails when any differs', async () => {
    // Prepare: 'sound' and 'tampered' from above, plus one more of each.
    await busyAccount('sound-2');
    await busyAccount('tampered-2');
    await corruptBalance(db, 'tampered-2', -2_000_000_000);

    // Act
    const all = await auditAccounts(db.stores, ['tampered-2', 'sound', 'sound-2', 'tampered', 'deleted-meanwhile']);
    const run = await cli(db, 'audit', '--all', '--json');

    // Assess
    expect(all).toMatchObject({ ok: false, audited: 4, failed: 2 });
    expect(all.accounts.map((audit) => [audit.account, audit.ok])).toEqual([
      ['sound', true],
      ['sound-2', true],
      ['tampered', false],
      ['tampered-2', false],
    ]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: false,
      audited: 4,
      failed: 2,
      error: {
        message:
          'AUDIT FAILED: 2 of 4 accounts differ from their ledger: tampered ($0.000000001), tampered-2 (-$2.00). Run tollgate audit <account> for the details.',
      },
    });
  });

  it('needs exactly one of an account and --all, and refuses an unknown account', async () => {
    expect((await cli(db, 'audit')).code).toBe(2);
    expect((await cli(db, 'audit', 'sound', '--all')).code).toBe(2);
    const ghost = await cli(db, 'audit', 'ghost');
    expect(ghost).toMatchObject({ code: 1, stderr: "tollgate: Unknown account 'ghost'\n" });
  });
});

describe('sweep', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('releases a hold older than the expiry exactly once and leaves younger ones', async () => {
    // Prepare
    const now = new Date();
    await createAccount(db.stores, 'crashy');
    await topUp(db.stores, 'crashy', '1');
    const stale = usageRow('crashy', 'req-died', new Date(now.getTime() - 3_600_000), 300_000_000);
    await db.stores.wallets.hold(stale);
    await db.stores.wallets.hold(usageRow('crashy', 'req-live', now, 100_000_000));

    // Act
    const first = await sweepHolds(db.stores, { now });
    const second = await sweepHolds(db.stores, { now });

    // Assess
    expect(first).toEqual({
      released: 1,
      already_settled: 0,
      older_than_seconds: 960,
      cutoff: new Date(now.getTime() - 960_000).toISOString(),
    });
    expect(second).toMatchObject({ released: 0, already_settled: 0 });
    expect((await getBalance(db.stores, 'crashy')).balance_usd).toBe('0.90');
    const rows = (await listUsage(db.stores, 'crashy')).rows;
    const outcomes = Object.fromEntries(
      rows.flatMap((row) => (row.kind === 'usage' ? [[row.request_id, row.outcome] as const] : [])),
    );
    expect(outcomes).toEqual({ 'req-live': 'pending', 'req-died': 'expired_hold' });
    expect((await auditAccount(db.stores, 'crashy')).ok).toBe(true);
  });

  it('takes --older-than in seconds and prints what it released', async () => {
    // Its own tables: a sweep releases the old holds of every account.
    const own = await createTestDatabase();
    await createAccount(own.stores, 'flag');
    await topUp(own.stores, 'flag', '1');
    await own.stores.wallets.hold(usageRow('flag', 'req-old', new Date(Date.now() - 120_000), 1_000));

    const human = await cli(own, 'sweep', '--older-than', '60');
    const again = await cli(own, 'sweep', '--older-than', '60', '--json');

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Released 1 hold pending since before \S+ \(older than 60 s\)\.\n$/);
    expect(JSON.parse(again.stdout)).toMatchObject({ released: 0, older_than_seconds: 60 });
    expect((await cli(own, 'sweep', '--older-than', '0')).code).toBe(2);
  });
});
