import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatUsd } from '../../lambdas/gateway/money.ts';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { auditAccount } from '../../lambdas/services/audit.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import {
  type DaySpend,
  keyActivity,
  ROLLUP_CLOSE_MARGIN_MS,
  type SpendQuery,
  spendByDay,
  spendTotals,
} from '../../lambdas/services/spend.ts';
import { listUsage } from '../../lambdas/services/usage.ts';
import { exportUsageCsv } from '../../lambdas/services/usage-export.ts';
import { RollupStore } from '../../lambdas/store/rollups.ts';
import { CorruptRecordError } from '../../lambdas/store/wallet-rows.ts';
import type { LedgerRow, TopUpRow, UsageRow } from '../../lambdas/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { tokens, usageRow } from '../support/rows.ts';

const DAY_MS = 86_400_000;
const HOLD_EXPIRY_MS = 16 * 60_000;
/** Noon on 2026-11-04: the 1st to the 3rd are closed, the 4th is today. */
const NOON = new Date('2026-11-04T12:00:00.000Z');

interface RowSpec {
  at: string;
  model?: string;
  keyId?: string;
  pending?: boolean;
  cost?: number;
  hold?: number;
  usage?: UsageRow['usage'];
}

const usage = (accountId: string, id: string, spec: RowSpec): UsageRow => {
  const row: UsageRow = {
    ...usageRow(accountId, id, new Date(spec.at), spec.hold ?? 5_000),
    model: spec.model ?? 'gpt-test',
    keyId: spec.keyId ?? 'key_test',
  };
  if (spec.pending) return { ...row, pending: 'hold', pendingSince: spec.at };
  return {
    ...row,
    status: 'final',
    cost: spec.cost ?? 1_000,
    outcome: 'completed',
    ...(spec.usage ? { usage: spec.usage } : {}),
  };
};

const topUpRow = (accountId: string, id: string, at: string, amount: number): TopUpRow => ({
  accountId,
  sk: `${at}#topup#${id}`,
  kind: 'topup',
  topUpId: id,
  amount,
  at,
});

/** Writes ledger rows as they are, behind the wallet's back (the roll-ups read only the ledger). */
const putRows = async (db: TestDatabase, rows: readonly LedgerRow[]) => {
  for (const row of rows) await db.client.send(new PutCommand({ TableName: db.tables.ledger, Item: row }));
};

/** The deps of spendByDay with `rollups` counting what it reads and writes. */
const counting = (db: TestDatabase, now: Date) => {
  const calls: string[] = [];
  const client = {
    send: (command: { constructor: { name: string } }) => {
      calls.push(command.constructor.name);
      return db.client.send(command as PutCommand);
    },
  } as unknown as DynamoDBDocumentClient;
  return { deps: { ...db.stores, rollups: new RollupStore(client, db.tables), now: () => now }, calls };
};

const storedRollup = async (db: TestDatabase, accountId: string, day: string) =>
  (await db.client.send(new GetCommand({ TableName: db.tables.ledger, Key: { accountId, sk: `rollup#${day}` } }))).Item;

/** The test's own sums of a day, straight from every ledger row: what spendByDay must answer. */
const bruteForce = (rows: readonly LedgerRow[], day: string): Omit<DaySpend, 'closed'> => {
  const mine = rows.filter((row) => row.at.slice(0, 10) === day);
  const models = new Map<string, { requests: number; cost: bigint; tokens: number[] }>();
  const keys = new Map<string, { requests: number; cost: bigint; last: string }>();
  let pending = 0;
  let held = 0n;
  let topUps = 0;
  let topUpAmount = 0n;
  for (const row of mine) {
    if (row.kind === 'adjustment') continue;
    if (row.kind === 'topup') {
      topUps += 1;
      topUpAmount += BigInt(row.amount);
      continue;
    }
    const cost = row.status === 'final' ? BigInt(row.cost ?? 0) : 0n;
    if (row.status === 'pending') {
      pending += 1;
      held += BigInt(row.hold);
    }
    const model = models.get(row.model) ?? { requests: 0, cost: 0n, tokens: [0, 0, 0, 0] };
    const u = row.usage;
    const add = u ? [u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWriteTokens] : [0, 0, 0, 0];
    models.set(row.model, {
      requests: model.requests + 1,
      cost: model.cost + cost,
      tokens: model.tokens.map((count, index) => count + (add[index] ?? 0)),
    });
    const key = keys.get(row.keyId) ?? { requests: 0, cost: 0n, last: '' };
    keys.set(row.keyId, {
      requests: key.requests + 1,
      cost: key.cost + cost,
      last: row.at > key.last ? row.at : key.last,
    });
  }
  const byName = <T>(map: Map<string, T>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1));
  const modelList = byName(models).map(([model, sum]) => ({
    model,
    requests: sum.requests,
    cost_usd: formatUsd(sum.cost),
    cost_nano: sum.cost.toString(),
    input_tokens: sum.tokens[0] as number,
    output_tokens: sum.tokens[1] as number,
    cache_read_tokens: sum.tokens[2] as number,
    cache_write_tokens: sum.tokens[3] as number,
  }));
  const cost = [...models.values()].reduce((sum, model) => sum + model.cost, 0n);
  const total = (index: number) => [...models.values()].reduce((sum, model) => sum + (model.tokens[index] ?? 0), 0);
  return {
    day,
    requests: mine.filter((row) => row.kind === 'usage').length,
    cost_usd: formatUsd(cost),
    cost_nano: cost.toString(),
    usage: {
      input_tokens: total(0),
      output_tokens: total(1),
      cache_read_tokens: total(2),
      cache_write_tokens: total(3),
    },
    pending,
    held_usd: formatUsd(held),
    held_nano: held.toString(),
    top_ups: topUps,
    top_ups_usd: formatUsd(topUpAmount),
    top_ups_nano: topUpAmount.toString(),
    models: modelList,
    keys: byName(keys).map(([keyId, sum]) => ({
      key_id: keyId,
      requests: sum.requests,
      cost_usd: formatUsd(sum.cost),
      cost_nano: sum.cost.toString(),
      last_at: sum.last,
    })),
  };
};

const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];

describe('daily spend', () => {
  let db: TestDatabase;
  let accounts = 0;
  const newAccount = async () => {
    accounts += 1;
    const accountId = `spend-${accounts}`;
    await createAccount(db.stores, { accountId });
    return accountId;
  };
  const query = (accountId: string, extra: Partial<SpendQuery> = {}): SpendQuery => ({
    accountId,
    from: '2026-11-01',
    to: '2026-11-05',
    ...extra,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('sums each day by model and by key exactly as a sum over every row does, stored or live', async () => {
    const count = fc.integer({ min: 0, max: 2_000_000 });
    const spec = fc.record({
      day: fc.integer({ min: 0, max: 4 }),
      ms: fc.integer({ min: 0, max: DAY_MS - 1 }),
      topUp: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      model: fc.constantFrom('m1', 'm2', 'm3'),
      keyId: fc.constantFrom('key_a', 'key_b'),
      pending: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      cost: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      usage: fc.option(
        fc.tuple(count, count, count, count).map(([a, b, c, d]) => tokens(a, b, c, d)),
        { nil: undefined },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { maxLength: 30 }), async (specs) => {
        // Prepare
        const accountId = await newAccount();
        const rows = specs.map((row, index): LedgerRow => {
          const at = new Date(Date.parse(DAYS[row.day] as string) + row.ms).toISOString();
          if (row.topUp) return topUpRow(accountId, `t${index}`, at, row.cost % 1_000_000_000_000_000);
          return usage(accountId, `r${index}`, {
            ...row,
            at,
            hold: row.cost,
            ...(row.usage ? { usage: row.usage } : {}),
          });
        });
        await putRows(db, rows);
        const { deps } = counting(db, NOON);

        // Act
        const live = await spendByDay(deps, query(accountId));
        const again = await spendByDay(deps, query(accountId));

        // Assess
        const all = await db.stores.wallets.allLedgerRows(accountId);
        expect(live.map(({ closed, ...day }) => day)).toEqual(DAYS.map((day) => bruteForce(all, day)));
        expect(live.map((day) => day.closed)).toEqual(
          DAYS.map((day) => day < '2026-11-04' && bruteForce(all, day).pending === 0),
        );
        expect(again).toEqual(live);
      }),
      { numRuns: 25 },
    );
  });

  it('stores a closed day once, and reads it back in one query', async () => {
    // Prepare
    const accountId = await newAccount();
    await putRows(db, [
      usage(accountId, 'a', {
        at: '2026-11-02T10:00:00.000Z',
        cost: 2_500,
        model: 'm1',
        keyId: 'key_a',
        usage: tokens(10, 20, 30, 40),
      }),
      usage(accountId, 'b', { at: '2026-11-02T11:00:00.000Z', cost: 500, model: 'm2', keyId: 'key_a' }),
      topUpRow(accountId, 'inv', '2026-11-02T09:00:00.000Z', 7_000_000_000),
    ]);
    const first = counting(db, NOON);
    const second = counting(db, NOON);

    // Act
    const days = await spendByDay(first.deps, query(accountId));
    const again = await spendByDay(second.deps, query(accountId));

    // Assess: five days read live, the three closed ones stored; then one query reads those.
    expect(first.calls.filter((name) => name === 'PutCommand')).toHaveLength(3);
    // One query for the stored days; today and tomorrow are read live, in four time slices each.
    expect(second.calls).toEqual(Array(1 + 2 * 4).fill('QueryCommand'));
    expect(again).toEqual(days);
    expect(await storedRollup(db, accountId, '2026-11-02')).toEqual({
      accountId,
      sk: 'rollup#2026-11-02',
      kind: 'rollup',
      version: 1,
      storedAt: NOON.toISOString(),
      day: '2026-11-02',
      pendingRows: 0,
      held: '0',
      topUps: 1,
      topUpAmount: '7000000000',
      models: [
        {
          model: 'm1',
          requests: 1,
          cost: '2500',
          inputTokens: 10,
          outputTokens: 20,
          cacheReadTokens: 30,
          cacheWriteTokens: 40,
        },
        {
          model: 'm2',
          requests: 1,
          cost: '500',
          inputTokens: 0,
          outputTokens: 0,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
        },
      ],
      keys: [{ keyId: 'key_a', requests: 2, cost: '3000', lastAt: '2026-11-02T11:00:00.000Z' }],
    });
    expect(days[1]).toMatchObject({
      day: '2026-11-02',
      closed: true,
      requests: 2,
      cost_usd: '0.000003',
      cost_nano: '3000',
    });
    expect(days.map((day) => day.closed)).toEqual([true, true, true, false, false]);
  });

  it('never stores today, nor a day with a pending row; that day is stored once its hold settles', async () => {
    // Prepare
    const accountId = await newAccount();
    const stuck = usage(accountId, 'stuck', { at: '2026-11-02T23:59:00.000Z', pending: true, hold: 40_000 });
    await putRows(db, [stuck, usage(accountId, 'today', { at: '2026-11-04T08:00:00.000Z', cost: 9 })]);

    // Act
    const before = await spendByDay({ ...db.stores, now: () => NOON }, query(accountId));

    // Assess
    expect(before[1]).toMatchObject({
      closed: false,
      requests: 1,
      pending: 1,
      held_usd: '0.00004',
      held_nano: '40000',
    });
    expect(before[3]).toMatchObject({ closed: false, cost_nano: '9' });
    expect(await storedRollup(db, accountId, '2026-11-02')).toBeUndefined();
    expect(await storedRollup(db, accountId, '2026-11-04')).toBeUndefined();

    await db.stores.wallets.settle(stuck, { cost: 12_345, outcome: 'completed' });
    const after = await spendByDay({ ...db.stores, now: () => NOON }, query(accountId));
    expect(after[1]).toMatchObject({ closed: true, pending: 0, cost_nano: '12345' });
    expect((await storedRollup(db, accountId, '2026-11-02'))?.['keys']).toEqual([
      { keyId: 'key_test', requests: 1, cost: '12345', lastAt: '2026-11-02T23:59:00.000Z' },
    ]);
  });

  it('closes a day only once the hold expiry and the margin have passed since it ended', async () => {
    const accountId = await newAccount();
    await putRows(db, [usage(accountId, 'late', { at: '2026-11-03T23:59:59.999Z' })]);
    const closesAt = Date.parse('2026-11-04T00:00:00.000Z') + HOLD_EXPIRY_MS + ROLLUP_CLOSE_MARGIN_MS;
    const day = { accountId, from: '2026-11-03', to: '2026-11-03', holdExpiryMs: HOLD_EXPIRY_MS };

    const early = await spendByDay({ ...db.stores, now: () => new Date(closesAt - 1) }, day);
    expect(early[0]?.closed).toBe(false);
    expect(await storedRollup(db, accountId, '2026-11-03')).toBeUndefined();

    const due = await spendByDay({ ...db.stores, now: () => new Date(closesAt) }, day);
    expect(due[0]?.closed).toBe(true);
    expect(await storedRollup(db, accountId, '2026-11-03')).toBeDefined();

    const longer = await spendByDay({ ...db.stores, now: () => new Date(closesAt) }, { ...day, holdExpiryMs: DAY_MS });
    expect(longer[0]?.closed).toBe(true); // already stored: a stored day stays closed
  });

  it('lists every day of the range, oldest first, empty days with zeros', async () => {
    const accountId = await newAccount();

    const days = await spendByDay({ ...db.stores, now: () => NOON }, query(accountId));

    expect(days.map((day) => day.day)).toEqual(DAYS);
    expect(days[0]).toEqual({
      day: '2026-11-01',
      closed: true,
      requests: 0,
      cost_usd: '0.00',
      cost_nano: '0',
      usage: { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 },
      pending: 0,
      held_usd: '0.00',
      held_nano: '0',
      top_ups: 0,
      top_ups_usd: '0.00',
      top_ups_nano: '0',
      models: [],
      keys: [],
    });
  });

  it('keeps stored roll-ups out of listUsage, the audit, allLedgerRows, the sweeper and the CSV export', async () => {
    // Prepare: a database of its own (the sweeper sweeps every account), an account whose audit
    // balances, with a day stored and a hold left pending.
    const own = await createTestDatabase();
    const accountId = 'audited';
    await createAccount(own.stores, { accountId });
    await own.stores.wallets.topUp(accountId, 1_000_000, 'inv-1', new Date('2026-11-02T08:00:00.000Z'));
    const row = usageRow(accountId, 'req-1', new Date('2026-11-02T09:00:00.000Z'), 10_000);
    await own.stores.wallets.hold(row);
    await own.stores.wallets.settle(row, { cost: 4_000, outcome: 'completed', usage: tokens(1, 1) });
    await own.stores.wallets.hold(usageRow(accountId, 'req-2', new Date('2026-11-04T09:00:00.000Z'), 10_000));
    await spendByDay({ ...own.stores, now: () => NOON }, query(accountId));
    const stored = await storedRollup(own, accountId, '2026-11-02');
    expect(stored).toBeDefined();

    // Act
    const listing = await listUsage(own.stores, { accountId, limit: 1_000 });
    const audit = await auditAccount(own.stores, { accountId });
    const rows = await own.stores.wallets.allLedgerRows(accountId);
    const sweep = await sweepExpiredHolds(own.stores.wallets, { now: Date.parse('2027-01-01T00:00:00.000Z') });
    let csv = '';
    for await (const chunk of exportUsageCsv(own.stores, { accountId })) csv += chunk;

    // Assess
    expect(listing.ledger.data.map((entry) => entry.id)).toEqual(['req-2', 'req-1', 'inv-1']);
    expect(audit).toMatchObject({ ok: true, ledger_rows: 3 });
    expect(rows.map((found) => found.kind)).toEqual(['topup', 'usage', 'usage']);
    expect(sweep).toEqual({ released: 1, charged: 0, alreadySettled: 0, leasesClosed: 0 });
    expect(csv.trimEnd().split('\r\n')).toHaveLength(4);
    expect(await own.stores.wallets.countLedger(accountId, {})).toBe(3);
    expect(await storedRollup(own, accountId, '2026-11-02')).toEqual(stored);
    expect(await auditAccount(own.stores, { accountId })).toMatchObject({ ok: true, open_holds: 0 });
  });

  it('keeps sums beyond 2^53 nano-USD exact, stored and summed over the period', async () => {
    // Prepare: three maximal costs on each of two closed days, and ten $1,000,000 top-ups.
    const accountId = await newAccount();
    const max = Number.MAX_SAFE_INTEGER;
    const rows: LedgerRow[] = [];
    for (const day of ['2026-11-01', '2026-11-02']) {
      for (const hour of [1, 2, 3]) {
        rows.push(
          usage(accountId, `${day}-${hour}`, { at: `${day}T0${hour}:00:00.000Z`, cost: max, hold: max, model: 'big' }),
        );
      }
    }
    for (let index = 0; index < 10; index++) {
      rows.push(topUpRow(accountId, `inv-${index}`, `2026-11-01T1${index}:00:00.000Z`, 1_000_000_000_000_000));
    }
    await putRows(db, rows);

    // Act
    const days = await spendByDay({ ...db.stores, now: () => NOON }, query(accountId));
    const totals = spendTotals(days);

    // Assess
    const three = (3n * BigInt(max)).toString();
    expect(days[0]).toMatchObject({
      cost_nano: three,
      cost_usd: '27021597.764222973',
      top_ups_nano: '10000000000000000',
    });
    expect((await storedRollup(db, accountId, '2026-11-01'))?.['models']).toEqual([
      expect.objectContaining({ model: 'big', cost: three }),
    ]);
    expect(totals).toMatchObject({
      from: '2026-11-01',
      to: '2026-11-05',
      days: 5,
      requests: 6,
      cost_nano: (6n * BigInt(max)).toString(),
      cost_usd: '54043195.528445946',
      top_ups_usd: '10000000.00',
      models: [expect.objectContaining({ model: 'big', cost_nano: (6n * BigInt(max)).toString() })],
    });
    expect((await spendByDay({ ...db.stores, now: () => NOON }, query(accountId)))[0]).toEqual(days[0]);
  });

  it("never mixes accounts: A's days hold only A's rows, B's only B's", async () => {
    // Prepare: two accounts busy on the same days with the same models, different keys.
    const a = await newAccount();
    const b = await newAccount();
    await putRows(db, [
      usage(a, 'a1', { at: '2026-11-02T10:00:00.000Z', cost: 100, keyId: 'key_a', model: 'shared' }),
      usage(b, 'b1', { at: '2026-11-02T10:00:00.000Z', cost: 7, keyId: 'key_b', model: 'shared' }),
      usage(b, 'b2', { at: '2026-11-04T10:00:00.000Z', cost: 8, keyId: 'key_b', model: 'shared' }),
    ]);

    // Act
    const daysA = await spendByDay({ ...db.stores, now: () => NOON }, query(a));
    const daysB = await spendByDay({ ...db.stores, now: () => NOON }, query(b));
    const againA = await spendByDay({ ...db.stores, now: () => NOON }, query(a));

    // Assess
    expect(spendTotals(daysA)).toMatchObject({
      requests: 1,
      cost_nano: '100',
      keys: [expect.objectContaining({ key_id: 'key_a' })],
    });
    expect(spendTotals(daysB)).toMatchObject({
      requests: 2,
      cost_nano: '15',
      keys: [expect.objectContaining({ key_id: 'key_b' })],
    });
    expect(againA).toEqual(daysA);
    expect((await storedRollup(db, b, '2026-11-02'))?.['keys']).toEqual([
      { keyId: 'key_b', requests: 1, cost: '7', lastAt: '2026-11-02T10:00:00.000Z' },
    ]);
  });

  it('sums the period by model and by key, and each key over its month with its last request', async () => {
    // Prepare: key_a used in October and November, key_b only in October.
    const accountId = await newAccount();
    await putRows(db, [
      usage(accountId, 'o1', { at: '2026-10-30T10:00:00.000Z', cost: 1_000, keyId: 'key_a', model: 'm1' }),
      usage(accountId, 'o2', { at: '2026-10-31T10:00:00.000Z', cost: 2_000, keyId: 'key_b', model: 'm2' }),
      usage(accountId, 'n1', { at: '2026-11-01T10:00:00.000Z', cost: 3_000, keyId: 'key_a', model: 'm1' }),
      usage(accountId, 'n2', { at: '2026-11-04T10:00:00.000Z', cost: 4_000, keyId: 'key_a', model: 'm2' }),
    ]);

    // Act
    const days = await spendByDay(
      { ...db.stores, now: () => NOON },
      { accountId, from: '2026-10-30', to: '2026-11-04' },
    );

    // Assess
    expect(spendTotals(days)).toMatchObject({
      requests: 4,
      cost_usd: '0.00001',
      models: [
        expect.objectContaining({ model: 'm1', requests: 2, cost_nano: '4000' }),
        expect.objectContaining({ model: 'm2', requests: 2, cost_nano: '6000' }),
      ],
      keys: [
        { key_id: 'key_a', requests: 3, cost_usd: '0.000008', cost_nano: '8000', last_at: '2026-11-04T10:00:00.000Z' },
        { key_id: 'key_b', requests: 1, cost_usd: '0.000002', cost_nano: '2000', last_at: '2026-10-31T10:00:00.000Z' },
      ],
    });
    expect(keyActivity(days)).toEqual([
      {
        key_id: 'key_a',
        month: '2026-11',
        month_requests: 2,
        month_cost_usd: '0.000007',
        month_cost_nano: '7000',
        last_at: '2026-11-04T10:00:00.000Z',
      },
      {
        key_id: 'key_b',
        month: '2026-11',
        month_requests: 0,
        month_cost_usd: '0.00',
        month_cost_nano: '0',
        last_at: '2026-10-31T10:00:00.000Z',
      },
    ]);
    expect(keyActivity(days, { month: '2026-10' })[1]).toMatchObject({ month_requests: 1, month_cost_nano: '2000' });
    expect(() => keyActivity(days, { month: 'October' })).toThrow(InvalidInputError);
  });

  it('refuses a malformed stored roll-up, naming the account and the row', async () => {
    const accountId = await newAccount();
    await db.client.send(
      new PutCommand({
        TableName: db.tables.ledger,
        Item: {
          accountId,
          sk: 'rollup#2026-11-02',
          kind: 'rollup',
          version: 1,
          day: '2026-11-02',
          pendingRows: 0,
          held: '0',
          topUps: 0,
          topUpAmount: '0',
          models: [
            {
              model: 'm1',
              requests: 1,
              cost: 12.5,
              inputTokens: 0,
              outputTokens: 0,
              cacheReadTokens: 0,
              cacheWriteTokens: 0,
            },
          ],
          keys: [],
        },
      }),
    );

    const read = spendByDay({ ...db.stores, now: () => NOON }, query(accountId));

    await expect(read).rejects.toThrow(CorruptRecordError);
    await expect(spendByDay({ ...db.stores, now: () => NOON }, query(accountId))).rejects.toThrow(
      `Account '${accountId}': roll-up row 'rollup#2026-11-02' is malformed: models.0.cost:`,
    );
  });

  it.each<[Partial<SpendQuery>, string]>([
    [{ from: '2026-11-05', to: '2026-11-01' }, 'from (2026-11-05) is after to (2026-11-01)'],
    [{ from: '2026-01-01', to: '2026-04-04' }, '2026-01-01 to 2026-04-04: 94 days, at most 93 at once'],
    [{ from: '2026-02-30' }, "Invalid from '2026-02-30'"],
    [{ to: '2026-11-5' }, "Invalid to '2026-11-5'"],
    [{ accountId: 'no such/id' }, 'Invalid account id'],
    [{ holdExpiryMs: -1 }, 'Invalid hold expiry'],
  ])('refuses %j as invalid input', async (bad, message) => {
    const read = spendByDay({ ...db.stores, now: () => NOON }, { ...query('spend-1'), ...bad });

    await expect(read).rejects.toThrow(InvalidInputError);
    await expect(spendByDay({ ...db.stores, now: () => NOON }, { ...query('spend-1'), ...bad })).rejects.toThrow(
      message,
    );
  });

  it('refuses an unknown account rather than showing it empty', async () => {
    await expect(spendByDay({ ...db.stores, now: () => NOON }, query('ghost'))).rejects.toThrow(NotFoundError);
  });

  it('takes 93 days at once', async () => {
    const accountId = await newAccount();

    const days = await spendByDay(
      { ...db.stores, now: () => NOON },
      { accountId, from: '2026-08-04', to: '2026-11-04' },
    );

    expect(days).toHaveLength(93);
  });
});
