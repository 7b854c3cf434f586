import { beforeAll, describe, expect, it } from 'vitest';
import { describeDiscount } from '../../lambdas/cli/format.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { corruptBalance, tokens, usageRow } from '../support/rows.ts';
import { runOn, runWithEnv } from './in-process.ts';

/** No database listens here: a command that gets this far before failing would exit 1, not 2. */
const OFFLINE = { TOLLGATE_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' };

describe('discount for people', () => {
  it('shows a discount as the fraction charged and the percentage off', () => {
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

  it('prints the updated wallet, with --json as one object', async () => {
    await createAccount(db.stores, { accountId: 'printed' });

    const human = await runOn(db, 'accounts', 'set', 'printed', '--credit-limit', '50', '--discount', '0.8');
    const json = await runOn(db, 'balance', 'printed', '--json');

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

  it('sets and removes the low-balance alert with --alert-below, shown by balance', async () => {
    await createAccount(db.stores, { accountId: 'alerted' });

    const set = await runOn(db, 'accounts', 'set', 'alerted', '--alert-below', '5.5');
    const shown = await runOn(db, 'balance', 'alerted', '--json');
    const bad = await runWithEnv(OFFLINE, 'accounts', 'set', 'alerted', '--alert-below', '5.0000000001');
    const removed = await runOn(db, 'accounts', 'set', 'alerted', '--alert-below', 'none', '--json');

    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toContain('low-balance alert below $5.50');
    expect(JSON.parse(shown.stdout)).toMatchObject({ alert_below_usd: '5.50', alert_below_nano: 5_500_000_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid alert threshold');
    expect(JSON.parse(removed.stdout)).toMatchObject({ alert_below_usd: null, alert_below_nano: null });
    expect(await db.stores.wallets.get('alerted')).not.toHaveProperty('alertArmed');
  });

  it('exits 2 before connecting when no setting or a malformed one is given', async () => {
    const nothing = await runWithEnv(OFFLINE, 'accounts', 'set', 'printed');
    const bad = await runWithEnv(OFFLINE, 'accounts', 'set', 'printed', '--discount', '0', '--json');
    const negative = await runWithEnv(OFFLINE, 'accounts', 'set', 'printed', '--credit-limit=-1');

    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain(
      'Nothing to set: give --credit-limit USD, --discount FRACTION and/or --alert-below USD',
    );
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toEqual({ error: { message: expect.stringContaining("Invalid discount '0'") } });
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain('Invalid credit limit');
  });

  it('exits 1 on an unknown account, saying how to create it', async () => {
    const run = await runOn(db, 'accounts', 'set', 'ghost', '--discount', '0.5');

    expect(run).toMatchObject({
      code: 1,
      stderr: "tollgate: Unknown account 'ghost' (create it with: npx tollgate accounts create ghost)\n",
    });
  });
});

describe('usage', () => {
  let db: TestDatabase;
  const t0 = new Date('2026-11-01T08:00:00.000Z');
  const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

  beforeAll(async () => {
    db = await createTestDatabase();
    await createAccount(db.stores, { accountId: 'user' });
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

  it('prints a table with a totals line, and a cursor hint when there is more', async () => {
    const { code, stdout } = await runOn(db, 'usage', 'user', '--limit', '3', '--wide');
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
    expect(lines[5]).toBe('Shown: 3 rows, 3 requests costing $0.0135 + $0.02 held by 1 pending');
    expect(lines[6]).toBe('Tokens: 2000 in, 500 out, 200 cache read, 0 cache write');
    expect(lines[7]).toBe("Older rows: npx tollgate usage user --limit 3 --cursor '2026-11-01T08:01:00.000Z#req-done'");
  });

  it('prints the last page with its top-up, and follows the cursor it printed', async () => {
    const { code, stdout } = await runOn(
      db,
      ...['usage', 'user', '--limit', '3', '--cursor', '2026-11-01T08:01:00.000Z#req-done', '--wide'],
    );
    const lines = stdout.trimEnd().split('\n');

    expect(code).toBe(0);
    expect(lines[1]).toMatch(/^2026-11-01T08:00:00.000Z\s+inv-1\s+\(top-up\)\s+\+\$5\.00$/);
    expect(lines.slice(-2)).toEqual([
      'Shown: 1 row, 0 requests costing $0.00; top-ups $5.00',
      'Tokens: 0 in, 0 out, 0 cache read, 0 cache write',
    ]);
  });

  it('prints one JSON object: the rows in the /v1/wallet shape, totals, and the cursor in ledger', async () => {
    const { code, stdout } = await runOn(db, 'usage', 'user', '--since', '2026-11-01', '--json');

    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(stdout) as {
      ledger: { data: { type: string; id: string; usage: unknown }[] };
    };
    expect(parsed).toMatchObject({
      account: 'user',
      since: '2026-11-01T00:00:00.000Z',
      limit: 50,
      ledger: { has_more: false, next_cursor: null },
      totals: { requests: 3, pending: 1, cost_usd: '0.0135', held_usd: '0.02', top_ups_usd: '5.00' },
    });
    expect(parsed.ledger.data.map((row) => [row.type, row.id])).toEqual([
      ['usage', 'req-guessed'],
      ['usage', 'req-open'],
      ['usage', 'req-done'],
      ['topup', 'inv-1'],
    ]);
    expect(parsed.ledger.data[2]?.usage).toEqual({
      input_tokens: 1_000,
      output_tokens: 500,
      cache_read_tokens: 200,
      cache_write_tokens: 0,
    });
  });

  it('shows the model billed and the one first routed to when a fallback answered', async () => {
    await createAccount(db.stores, { accountId: 'fell-back' });
    await topUp(db.stores, { accountId: 'fell-back', amountUsd: '1', topUpId: 'inv-1' });
    const row = usageRow('fell-back', 'req-fallback', t0, 10_000_000);
    await db.stores.wallets.hold(row);
    await db.stores.wallets.settle(row, {
      cost: 1_000,
      outcome: 'completed',
      usage: tokens(1, 1),
      fallbackFrom: 'gpt-test',
      model: 'gpt-spare',
    });

    const { stdout } = await runOn(db, 'usage', 'fell-back', '--wide');

    expect(stdout).toMatch(/req-fallback\s+gpt-spare \(fallback from gpt-test\)\s+completed/);
  });

  it('says so when there are no rows, and exits 1 on an unknown account', async () => {
    const none = await runOn(db, 'usage', 'user', '--since', '2026-11-02');
    const ghost = await runOn(db, 'usage', 'ghost');

    expect(none).toMatchObject({ code: 0, stdout: 'No ledger rows for user since 2026-11-02T00:00:00.000Z.\n' });
    expect(ghost).toMatchObject({
      code: 1,
      stderr: "tollgate: Unknown account 'ghost' (create it with: npx tollgate accounts create ghost)\n",
    });
  });

  it.each([
    [['--limit', '0'], "Invalid --limit '0'"],
    [['--limit', '1001'], "Invalid --limit '1001': at most 1000"],
    [['--limit', 'ten'], "Invalid --limit 'ten'"],
    [['--since', 'yesterday'], "Invalid --since 'yesterday'"],
    [['--cursor', 'abc'], "Invalid --cursor 'abc'"],
  ])('exits 2 on %j before connecting', async (flags, message) => {
    const run = await runWithEnv(OFFLINE, 'usage', 'user', ...flags);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('audit', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  /** An account with two top-ups, a settled request and an open hold. */
  const busyAccount = async (accountId: string): Promise<void> => {
    await createAccount(db.stores, { accountId });
    await topUp(db.stores, { accountId, amountUsd: '10', topUpId: 'inv-1' });
    await topUp(db.stores, { accountId, amountUsd: '0.000000007', topUpId: 'inv-2' });
    const settled = usageRow(accountId, 'req-settled', new Date(), 40_000_000);
    await db.stores.wallets.hold(settled);
    await db.stores.wallets.settle(settled, { cost: 12_345_678, outcome: 'completed', usage: tokens(10, 20) });
    await db.stores.wallets.hold(usageRow(accountId, 'req-open', new Date(), 1_000_000_000));
  };

  it('exits 0 and says OK when the balance equals top-ups − settled costs − open holds', async () => {
    await busyAccount('sound');

    const run = await runOn(db, 'audit', 'sound');

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Audit of sound (4 ledger rows)');
    expect(run.stdout).toMatch(/top-ups\s+\$10\.000000007/);
    expect(run.stdout).toContain('OK: the balance equals top-ups − settled costs − open holds, to the nano-USD.');
  });

  it('fails with exit 1 and AUDIT FAILED when the balance was changed behind the ledger', async () => {
    // Prepare
    await busyAccount('tampered');
    await corruptBalance(db, 'tampered', 1);

    // Act
    const human = await runOn(db, 'audit', 'tampered');
    const json = await runOn(db, 'audit', 'tampered', '--json');

    // Assess
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
      difference_usd: '0.000000001',
      error: { message: expect.stringMatching(/^AUDIT FAILED: /) },
    });
  });

  it('audits every account with --all and fails when any differs', async () => {
    // Prepare: 'sound' and 'tampered' from above, plus one more of each.
    await busyAccount('sound-2');
    await busyAccount('tampered-2');
    await corruptBalance(db, 'tampered-2', -2_000_000_000);

    // Act
    const human = await runOn(db, 'audit', '--all');
    const json = await runOn(db, 'audit', '--all', '--json');

    // Assess
    expect(human.code).toBe(1);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT\s+BALANCE\s+EXPECTED\s+DIFFERENCE\s+OPEN HOLDS\s+STATUS$/);
    expect(lines.slice(1, 5).map((line) => [line.split(/\s+/)[0], line.split(/\s+/).at(-1)])).toEqual([
      ['sound', 'ok'],
      ['sound-2', 'ok'],
      ['tampered', 'FAILED'],
      ['tampered-2', 'FAILED'],
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      audited: 4,
      failed: 2,
      unreadable: [],
      error: {
        message:
          'AUDIT FAILED: 2 of 4 accounts differ from their ledger: tampered ($0.000000001), tampered-2 (-$2.00). Run npx tollgate audit <account> for the details.',
      },
    });
  });

  it('needs exactly one of an account and --all, and refuses an unknown account', async () => {
    expect((await runWithEnv(OFFLINE, 'audit')).code).toBe(2);
    expect((await runWithEnv(OFFLINE, 'audit', 'sound', '--all')).code).toBe(2);
    const ghost = await runOn(db, 'audit', 'ghost');
    expect(ghost).toMatchObject({ code: 1, stderr: "tollgate: Unknown account 'ghost'\n" });
  });
});

describe('audit --all of no accounts', () => {
  it('says there is nothing to audit and exits 0', async () => {
    const empty = await createTestDatabase();

    const run = await runOn(empty, 'audit', '--all');

    expect(run).toMatchObject({ code: 0, stdout: 'No accounts to audit.\n' });
  });
});

describe('sweep', () => {
  it('takes --older-than in seconds and prints what it released', async () => {
    // Its own tables: a sweep releases the old holds of every account.
    const own = await createTestDatabase();
    await createAccount(own.stores, { accountId: 'flag' });
    await topUp(own.stores, { accountId: 'flag', amountUsd: '1', topUpId: 'inv-1' });
    await own.stores.wallets.hold(usageRow('flag', 'req-old', new Date(Date.now() - 120_000), 1_000));

    const human = await runOn(own, 'sweep', '--older-than', '60');
    const again = await runOn(own, 'sweep', '--older-than', '60', '--json');
    const nothing = await runOn(own, 'sweep', '--older-than', '60');

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Released 1 hold pending since before \S+ \(older than 60 s\)\.\n$/);
    expect(JSON.parse(again.stdout)).toMatchObject({ released: 0, older_than_seconds: 60 });
    expect(nothing.stdout).toMatch(/^No holds pending since before \S+ \(older than 60 s\): nothing to release\.\n$/);
  });

  it.each(['0', '-5', '1.5'])('exits 2 on --older-than %j before connecting', async (seconds) => {
    const run = await runWithEnv(OFFLINE, 'sweep', '--older-than', seconds);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--older-than');
  });
});
