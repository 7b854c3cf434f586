import { beforeAll, describe, expect, it } from 'vitest';
import { BillingError } from '../../lambdas/errors.ts';
import { Billing, type Hold } from '../../lambdas/gateway/billing.ts';
import { keyBudgetSk, keyLimitMessage, keyLimitState, limitPeriod } from '../../lambdas/gateway/key-budget.ts';
import { mintKey } from '../../lambdas/gateway/keys.ts';
import type { KeyRecord, LimitReset, Route } from '../../lambdas/vocabulary.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';

const PRICES = { input: 1_000_000_000, output: 2_000_000_000 };
const ROUTE: Route = { model: 'gpt-clock', provider: 'openai', prices: PRICES };
const BODY = { model: 'gpt-clock', messages: [{ role: 'user', content: 'tick' }] };
const TEXT = JSON.stringify(BODY);
/** 1,000 output tokens at $2 per million, plus the input estimate: one hold. */
const CAP = { tokens: 1_000, choices: 1 };
/** 10 tokens in, 100 out: 10 × $1 + 100 × $2 per million = 210_000 nano-USD. */
const USAGE = { inputTokens: 10, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0 };
const COST = 210_000;

describe('limitPeriod: UTC days, weeks from Monday, calendar months', () => {
  it.each([
    ['daily', '2026-12-31T23:59:59.999Z', '2026-12-31', '2027-01-01T00:00:00.000Z'],
    ['daily', '2027-01-01T00:00:00.000Z', '2027-01-01', '2027-01-02T00:00:00.000Z'],
    ['weekly', '2026-12-06T23:59:59.999Z', '2026-11-30', '2026-12-07T00:00:00.000Z'], // a Sunday
    ['weekly', '2026-12-07T00:00:00.000Z', '2026-12-07', '2026-12-14T00:00:00.000Z'], // the Monday after
    ['weekly', '2026-12-31T12:00:00.000Z', '2026-12-28', '2027-01-04T00:00:00.000Z'], // a week across the year
    ['monthly', '2026-12-31T23:59:59.999Z', '2026-12-01', '2027-01-01T00:00:00.000Z'],
    ['monthly', '2028-02-29T08:00:00.000Z', '2028-02-01', '2028-03-01T00:00:00.000Z'],
  ] as const)('%s at %s starts %s and ends %s', (reset, at, start, endsAt) => {
    expect(limitPeriod(reset, new Date(at))).toEqual({ reset, start, endsAt });
  });

  it('has one period for never', () => {
    expect(limitPeriod('never', new Date())).toEqual({ reset: 'never' });
    expect(keyBudgetSk('key_1', limitPeriod('never', new Date()))).toBe('keyspend#key_1#never');
  });

  it('says when the limit resets in its message', () => {
    const message = keyLimitMessage({
      limit: 20_000_000_000,
      reset: 'monthly',
      used: 19_980_000_000,
      hold: 50_000_000,
      endsAt: '2027-01-01T00:00:00.000Z',
    });
    expect(message).toBe(
      'Key limit reached: this key may spend $20.00 per month; $19.98 is used or held, and this request needs ' +
        "$0.05 held. It resets at 2027-01-01T00:00:00Z. Raise the key's limit on API Keys, or lower max tokens.",
    );
  });
});

describe('a key limit across a UTC boundary (injectable clock)', () => {
  let db: TestDatabase;
  let billing: Billing;
  let accounts = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    billing = new Billing({ wallets: db.stores.wallets, settleRetryDelaysMs: [] });
  });

  /** A rich account whose key may spend two holds per `reset` period. */
  const keyWithTwoHolds = async (reset: LimitReset): Promise<{ key: KeyRecord; hold: number }> => {
    accounts += 1;
    const accountId = `acct-clock-${accounts}-${Date.now()}`;
    await db.stores.wallets.create(accountId);
    await db.stores.wallets.topUp(accountId, 100_000_000_000, `seed-${accountId}`);
    const probe = await billing.hold({
      requestId: `probe-${accounts}`,
      key: mintKey(accountId).record,
      route: ROUTE,
      body: BODY,
      bodyText: TEXT,
      cap: CAP,
    });
    await billing.settle(probe, { outcome: 'upstream_error' }); // released: nothing spent, no key limit on it
    const { record } = mintKey(accountId);
    const key: KeyRecord = { ...record, spendLimit: probe.row.hold * 2, limitReset: reset };
    return { key, hold: probe.row.hold };
  };
  let requests = 0;
  const holdAt = (key: KeyRecord, at: string): Promise<Hold> => {
    requests += 1;
    return billing.hold({
      requestId: `req-${requests}`,
      key,
      route: ROUTE,
      body: BODY,
      bodyText: TEXT,
      cap: CAP,
      at: new Date(at),
    });
  };
  const completed = { outcome: 'completed' as const, usage: USAGE, rawUsage: {}, outputChars: 0, endedAt: 0 };

  it.each([
    ['daily', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z'],
    ['weekly', '2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z'],
    ['monthly', '2026-11-30T23:59:59.999Z', '2026-12-01T00:00:00.000Z'],
  ] as const)(
    '%s: a key spent out at %s serves again at %s, and a hold settles in its own period',
    async (reset, before, after) => {
      // Prepare: two holds open in the period that is ending use the whole limit.
      const { key, hold } = await keyWithTwoHolds(reset);
      const first = await holdAt(key, before);
      await holdAt(key, before);

      // Act
      const refused = await holdAt(key, before).catch((error: unknown) => error);
      const nextPeriod = await holdAt(key, after);
      await billing.settle(first, completed); // a hold of the old period settles after the boundary

      // Assess
      expect(refused).toBeInstanceOf(BillingError);
      expect((refused as Error).message).toMatch(/^Key limit reached/);
      expect((refused as Error).message).toContain(`It resets at ${after.replace('.000Z', 'Z')}`);
      const oldRow = await db.stores.wallets.keySpend(
        key.accountId,
        keyBudgetSk(key.keyId, limitPeriod(reset, new Date(before))),
      );
      const newRow = await db.stores.wallets.keySpend(
        key.accountId,
        keyBudgetSk(key.keyId, limitPeriod(reset, new Date(after))),
      );
      expect(oldRow).toEqual({ spent: COST, held: hold, used: COST + hold });
      expect(newRow).toEqual({ spent: 0, held: hold, used: hold });
      expect(nextPeriod.row.keyBudget).not.toBe(first.row.keyBudget);
      const state = await keyLimitState(db.stores.wallets, key, new Date(after));
      expect(state).toMatchObject({ limit: 2 * hold, spent: 0, held: hold, remaining: hold });
    },
  );

  it('never: the limit does not come back with time', async () => {
    const { key } = await keyWithTwoHolds('never');
    await holdAt(key, '2026-01-01T00:00:00.000Z');
    await holdAt(key, '2026-06-01T00:00:00.000Z');

    const refused = await holdAt(key, '2030-01-01T00:00:00.000Z').catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(BillingError);
    expect((refused as Error).message).toContain('in all');
    expect((refused as Error).message).not.toContain('It resets');
  });
});
