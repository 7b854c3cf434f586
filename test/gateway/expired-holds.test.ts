import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Billing, type Hold, settlementFor } from '../../lambdas/gateway/billing.ts';
import type { Completion } from '../../lambdas/gateway/forward.ts';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import { sweepExpiredHolds } from '../../lambdas/gateway/sweep.ts';
import type { Route, UsageRow } from '../../lambdas/vocabulary.ts';
import { SweeperMetric } from '../../lib/metrics.ts';
import { audit } from '../support/accounts.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const USD = 1_000_000_000;
// $1 in, $2 out per million tokens: 1 input token = 1_000 nano-USD, 1 output token = 2_000.
const ROUTE: Route = { model: 'gpt', provider: 'openai', prices: { input: USD, output: 2 * USD } };
const BODY = { model: 'gpt', messages: [{ role: 'user', content: 'write a long story' }] };
const BODY_TEXT = JSON.stringify(BODY);
/** 1,000 output tokens held: the input estimate plus 1,000 × 2_000 nano-USD. */
const CAP = { tokens: 1_000, choices: 1 };
const LATER = 60 * 60_000;

const completion = (over: Partial<Completion> = {}): Completion => ({
  outcome: 'completed',
  usage: undefined,
  rawUsage: undefined,
  outputChars: 0,
  endedAt: Date.now(),
  ...over,
});
const tokens = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

/**
 * A request that outlives its hold (issue 10): a long stream checkpoints its running cost onto its
 * pending row, the sweeper charges that checkpoint (never more than the hold) instead of refunding
 * it, and the request's own late settle changes nothing and reports nothing.
 */
describe('checkpoints, the sweeper and a late settle (Billing on the real WalletStore)', () => {
  let db: TestDatabase;
  let accounts = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  /** A $5 account, its key, and a Billing instance as one Lambda instance has. */
  const given = async () => {
    accounts += 1;
    const accountId = `acct-expired-${accounts}-${Math.random().toString(36).slice(2, 8)}`;
    await db.stores.wallets.create(accountId);
    await db.stores.wallets.topUp(accountId, 5 * USD, `seed-${accountId}`);
    const key = mintKey(accountId).record;
    const alreadySettled: { row: UsageRow; cost: number }[] = [];
    const billing = new Billing({
      wallets: db.stores.wallets,
      settleRetryDelaysMs: [],
      onAlreadySettled: (row, settlement) => alreadySettled.push({ row, cost: settlement.cost }),
    });
    let requests = 0;
    const hold = async (at?: Date): Promise<Hold> => {
      requests += 1;
      const handle = await billing.hold({
        requestId: `req-${accounts}-${requests}`,
        key,
        route: ROUTE,
        body: BODY,
        bodyText: BODY_TEXT,
        cap: CAP,
        ...(at ? { at } : {}),
      });
      await handle.committed;
      return handle;
    };
    const rowOf = async (handle: Hold) =>
      (await db.stores.wallets.allLedgerRows(accountId)).find(
        (row): row is UsageRow => row.kind === 'usage' && row.sk === handle.row.sk,
      );
    const balance = async () => (await db.stores.wallets.get(accountId))?.balance;
    return { accountId, billing, hold, rowOf, balance, alreadySettled };
  };

  describe('WalletStore.checkpoint', () => {
    it('writes a running cost onto a pending row, only ever raising it, and moves no money', async () => {
      const { hold, rowOf, balance } = await given();
      const handle = await hold();
      const afterHold = await balance();
      expect(await db.stores.wallets.checkpoint(handle.row, 2_000)).toBe(true);
      expect(await db.stores.wallets.checkpoint(handle.row, 1_000)).toBe(false);
      expect(await db.stores.wallets.checkpoint(handle.row, 2_000)).toBe(false);
      expect(await db.stores.wallets.checkpoint(handle.row, 3_000)).toBe(true);
      expect(await rowOf(handle)).toMatchObject({ status: 'pending', checkpoint: 3_000 });
      expect(await balance()).toBe(afterHold);
      await db.stores.wallets.settle(handle.row, { cost: 0, outcome: 'completed' });
    });

    it('writes nothing onto a final row', async () => {
      const { hold, rowOf } = await given();
      const handle = await hold();
      await db.stores.wallets.settle(handle.row, { cost: 500, outcome: 'completed' });
      expect(await db.stores.wallets.checkpoint(handle.row, 9_000)).toBe(false);
      expect((await rowOf(handle))?.checkpoint).toBeUndefined();
    });
  });

  describe('Billing.checkpoint', () => {
    it('writes what the stream would cost if it ended now — the estimate of what it streamed — and only when it rose', async () => {
      const { billing, hold, rowOf } = await given();
      const handle = await hold();
      // 400 characters streamed, no usage yet: request chars / 4 in, 400 / 4 = 100 tokens out
      const inputTokens = Math.ceil(BODY_TEXT.length / 4);
      await billing.checkpoint(handle, { usage: undefined, rawUsage: undefined, outputChars: 400 });
      const first = inputTokens * 1_000 + 100 * 2_000;
      expect((await rowOf(handle))?.checkpoint).toBe(first);
      expect(handle.checkpointed).toBe(first);
      // The same progress again, or less, writes nothing new
      await billing.checkpoint(handle, { usage: undefined, rawUsage: undefined, outputChars: 400 });
      expect((await rowOf(handle))?.checkpoint).toBe(first);
      // More output: a higher checkpoint, still bounded by the hold however much was streamed
      await billing.checkpoint(handle, { usage: undefined, rawUsage: undefined, outputChars: 10_000_000 });
      const capped = (await rowOf(handle))?.checkpoint ?? 0;
      expect(capped).toBe(inputTokens * 1_000 + 1_000 * 2_000);
      expect(capped).toBeLessThanOrEqual(handle.row.hold);
      await billing.settle(handle, completion({ usage: tokens(10, 10) }));
    });
  });

  describe('sweepExpiredHolds', () => {
    it('charges an expired hold its checkpoint (at most the hold) and releases one with none in full', async () => {
      // Prepare: three requests that died — one had streamed output, one never produced any, one
      // checkpointed more than its hold (usage it reported beyond the estimate)
      const { accountId, hold, rowOf, balance } = await given();
      const streamed = await hold();
      const silent = await hold();
      const greedy = await hold();
      await db.stores.wallets.checkpoint(streamed.row, 123_456);
      await db.stores.wallets.checkpoint(greedy.row, greedy.row.hold + 5_000);
      const held = streamed.row.hold + silent.row.hold + greedy.row.hold;
      expect(await balance()).toBe(5 * USD - held);
      // Act
      const result = await sweepExpiredHolds(db.stores.wallets, { now: Date.now() + LATER });
      const again = await sweepExpiredHolds(db.stores.wallets, { now: Date.now() + LATER });
      // Assess
      expect(result).toEqual({ released: 1, charged: 2, alreadySettled: 0, leasesClosed: 0 });
      expect(again).toEqual({ released: 0, charged: 0, alreadySettled: 0, leasesClosed: 0 });
      expect(await rowOf(streamed)).toMatchObject({
        status: 'final',
        outcome: 'expired_hold',
        cost: 123_456,
        estimated: true,
      });
      expect(await rowOf(greedy)).toMatchObject({ outcome: 'expired_hold', cost: greedy.row.hold, estimated: true });
      const released = await rowOf(silent);
      expect(released).toMatchObject({ status: 'final', outcome: 'expired_hold', cost: 0 });
      expect(released?.estimated).toBeUndefined();
      expect(await balance()).toBe(5 * USD - 123_456 - greedy.row.hold);
      expect((await audit(db, accountId)).difference).toBe(0);
    });
  });

  describe('a settle that comes after the sweeper', () => {
    it('finds the row final, changes nothing and returns nothing, telling onAlreadySettled what it would have charged', async () => {
      // Prepare: a stream checkpoints, then outlives its hold and is swept
      const { accountId, billing, hold, rowOf, balance, alreadySettled } = await given();
      const handle = await hold();
      await billing.checkpoint(handle, { usage: undefined, rawUsage: undefined, outputChars: 800 });
      await sweepExpiredHolds(db.stores.wallets, { now: Date.now() + LATER });
      const swept = await rowOf(handle);
      const afterSweep = await balance();
      expect(swept).toMatchObject({ outcome: 'expired_hold', cost: handle.checkpointed, estimated: true });
      // Act: the stream ends after all, with its full usage
      const late = await billing.settle(handle, completion({ usage: tokens(300, 900), outputChars: 3_600 }));
      // Assess
      expect(late).toBeUndefined();
      expect(alreadySettled).toEqual([{ row: handle.row, cost: 300 * 1_000 + 900 * 2_000 }]);
      expect(await rowOf(handle)).toEqual(swept);
      expect(await balance()).toBe(afterSweep);
      expect((await audit(db, accountId)).difference).toBe(0);
      // A checkpoint after the sweep writes nothing either
      await billing.checkpoint(handle, { usage: undefined, rawUsage: undefined, outputChars: 4_000 });
      expect(await rowOf(handle)).toEqual(swept);
    });

    it('and a settle that comes first leaves the sweeper nothing to do', async () => {
      const { accountId, billing, hold, rowOf } = await given();
      const handle = await hold();
      await billing.checkpoint(handle, { usage: undefined, rawUsage: undefined, outputChars: 800 });
      const settled = await billing.settle(handle, completion({ usage: tokens(300, 900) }));
      expect(settled).toMatchObject({ outcome: 'completed', cost: 300 * 1_000 + 900 * 2_000 });
      const before = await rowOf(handle);
      await sweepExpiredHolds(db.stores.wallets, { now: Date.now() + LATER });
      expect(await rowOf(handle)).toEqual(before);
      expect((await audit(db, accountId)).difference).toBe(0);
    });
  });
});

describe("the sweeper function's handler", () => {
  it('counts expired holds, those released and those charged their checkpoint, in its metrics', async () => {
    // Prepare: tables of this test's own, and two holds taken 20 minutes ago (past the default expiry)
    const db = await createTestDatabase();
    const accountId = 'acct-sweeper-handler';
    await db.stores.wallets.create(accountId);
    await db.stores.wallets.topUp(accountId, 5 * USD, 'seed');
    const billing = new Billing({ wallets: db.stores.wallets, settleRetryDelaysMs: [] });
    const key = mintKey(accountId).record;
    const at = new Date(Date.now() - 20 * 60_000);
    const hold = async (requestId: string) => {
      const handle = await billing.hold({
        requestId,
        key,
        route: ROUTE,
        body: BODY,
        bodyText: BODY_TEXT,
        cap: CAP,
        at,
      });
      await handle.committed;
      return handle;
    };
    const died = await hold('req-died-streaming');
    await hold('req-died-silent');
    await db.stores.wallets.checkpoint(died.row, 42_000);
    process.env['TOLLGATE_TABLE_PREFIX'] = db.prefix;
    process.env['TOLLGATE_DYNAMODB_ENDPOINT'] = db.endpoint;
    const added = vi.spyOn(Metrics.prototype, 'addMetric');
    vi.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
      return this;
    });
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // Act
    const { handler } = await import('../../lambdas/sweeper.ts');
    const result = await handler();
    // Assess
    expect(result).toEqual({ released: 1, charged: 1, alreadySettled: 0, leasesClosed: 0 });
    const metric = (name: string) => added.mock.calls.find(([called]) => called === name)?.[2];
    expect(metric(SweeperMetric.ExpiredHolds)).toBe(2);
    expect(metric(SweeperMetric.HoldsReleased)).toBe(1);
    expect(metric(SweeperMetric.HoldsCharged)).toBe(1);
    expect((await db.stores.wallets.get(accountId))?.balance).toBe(5 * USD - 42_000);
    expect((await audit(db, accountId)).difference).toBe(0);
    vi.restoreAllMocks();
  });
});

describe('settlementFor: settle never forgives, an estimate never exceeds the hold', () => {
  /** A hold for `inputTokens` estimated and `maxOutputTokens` output at $1 / $2 per million. */
  const handle = (inputTokens: number, maxOutputTokens: number, bodyChars: number): Hold => {
    const amount = inputTokens * 1_000 + maxOutputTokens * 2_000;
    return {
      row: {
        accountId: 'acct-settlement',
        sk: '2026-01-01T00:00:00.000Z#req',
        kind: 'usage',
        requestId: 'req',
        status: 'pending',
        hold: amount,
        model: 'gpt',
        provider: 'openai',
        upstreamModel: 'gpt',
        keyId: 'key_test',
        at: '2026-01-01T00:00:00.000Z',
        prices: ROUTE.prices,
        discountPpm: 1_000_000,
      },
      quote: { amount, inputTokens, maxOutputTokens },
      committed: Promise.resolve(),
      bodyChars,
    };
  };

  it('bills output produced without usage by the estimate, each side capped at what was held', () => {
    const settlement = settlementFor(handle(100, 50, 4_000_000), completion({ outputChars: 4_000_000 }));
    expect(settlement).toMatchObject({ outcome: 'completed', estimated: true, usage: tokens(100, 50) });
    expect(settlement.cost).toBe(100 * 1_000 + 50 * 2_000);
    expect(settlement.overrun).toBeUndefined();
  });

  it.each([
    ['completed', 'completed'],
    ['broke mid-stream', 'upstream_error'],
    ['lost its client', 'client_disconnected'],
  ] as const)('bills an answer that %s by the estimate of what was streamed', (_how, outcome) => {
    const settlement = settlementFor(handle(100, 50, 40), completion({ outcome, outputChars: 40 }));
    expect(settlement).toMatchObject({ outcome, estimated: true, usage: tokens(10, 10) });
    expect(settlement.cost).toBe(10 * 1_000 + 10 * 2_000);
  });

  it('releases the hold when the upstream failed before producing anything', () => {
    expect(settlementFor(handle(100, 50, 40), completion({ outcome: 'upstream_error' }))).toEqual({
      outcome: 'upstream_error',
      cost: 0,
    });
  });

  it('raises the usage a broken stream reported so far to the output it streamed, within the hold', () => {
    const settlement = settlementFor(
      handle(100, 50, 40),
      completion({ outcome: 'upstream_error', usage: tokens(30, 1), outputChars: 80 }),
    );
    expect(settlement).toMatchObject({ estimated: true, usage: tokens(30, 20) });
    expect(settlement.cost).toBe(30 * 1_000 + 20 * 2_000);
  });

  it('debits reported usage beyond the hold in full and flags the row overrun', () => {
    const held = handle(100, 50, 40);
    const settlement = settlementFor(held, completion({ usage: tokens(1_000_000, 50), outputChars: 200 }));
    expect(settlement).toMatchObject({ outcome: 'completed', overrun: true, usage: tokens(1_000_000, 50) });
    expect(settlement.cost).toBe(1_000_000 * 1_000 + 50 * 2_000);
    expect(settlement.cost).toBeGreaterThan(held.row.hold);
    expect(settlement.estimated).toBeUndefined();
  });

  it('flags nothing when the reported usage costs exactly the hold', () => {
    const settlement = settlementFor(handle(100, 50, 40), completion({ usage: tokens(100, 50) }));
    expect(settlement.overrun).toBeUndefined();
    expect(settlement.cost).toBe(100 * 1_000 + 50 * 2_000);
  });
});
