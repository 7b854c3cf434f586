import { beforeAll, describe, expect, it } from 'vitest';
import { ledgerEntry, type UsageEntry, walletView } from '../../lambdas/gateway/wallet-view.ts';
import { createAccount } from '../../lambdas/services/accounts.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/services/errors.ts';
import { topUp } from '../../lambdas/services/topups.ts';
import { listUsage, type UsageQuery } from '../../lambdas/services/usage.ts';
import { createTestDatabase, type TestDatabase } from '../support/dynamo.ts';
import { tokens, usageRow } from '../support/rows.ts';

describe('usage service', () => {
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

  it('lists requests and top-ups newest first, with exact amounts and tokens', async () => {
    const listing = await listUsage(db.stores, { accountId: 'user' });

    expect(listing.ledger.data.map((row) => row.id)).toEqual(['req-guessed', 'req-open', 'req-done', 'inv-1']);
    const [guessed, open, done, credit] = listing.ledger.data;
    expect(done).toEqual<UsageEntry>({
      type: 'usage',
      id: 'req-done',
      at: '2026-11-01T08:01:00.000Z',
      status: 'final',
      outcome: 'completed',
      model: 'gpt-test',
      fallback_from: null,
      provider: 'openai',
      key_id: 'key_test',
      amount_usd: '-0.0105',
      amount_nano: -10_500_000,
      hold_usd: '0.05',
      hold_nano: 50_000_000,
      cost_usd: '0.0105',
      cost_nano: 10_500_000,
      discount: '1',
      estimated: false,
      overrun: false,
      usage: { input_tokens: 1_000, output_tokens: 500, cache_read_tokens: 200, cache_write_tokens: 0 },
    });
    expect(open).toMatchObject({
      status: 'pending',
      outcome: null,
      usage: null,
      cost_usd: null,
      hold_usd: '0.02',
      amount_usd: '-0.02',
    });
    expect(guessed).toMatchObject({ outcome: 'client_disconnected', cost_usd: '0.003', estimated: true });
    expect(credit).toEqual({
      type: 'topup',
      id: 'inv-1',
      at: '2026-11-01T08:00:00.000Z',
      amount_usd: '5.00',
      amount_nano: 5_000_000_000,
      payment: null,
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
      usage: { input_tokens: 2_000, output_tokens: 500, cache_read_tokens: 200, cache_write_tokens: 0 },
    });
    expect(listing.ledger).toMatchObject({ has_more: false, next_cursor: null });
  });

  it('gives each row the same JSON as GET /v1/wallet does', async () => {
    const wallet = await db.stores.wallets.get('user');
    const page = await db.stores.wallets.ledger('user', { limit: 2 });
    if (!wallet) throw new Error('no wallet');

    const listing = await listUsage(db.stores, { accountId: 'user', limit: 2 });

    expect(listing.ledger).toEqual(walletView(wallet, page.rows, page.nextCursor).ledger);
    expect(listing.ledger.data).toEqual(page.rows.map(ledgerEntry));
  });

  it('pages with limit and cursor through the same rows', async () => {
    const all = await listUsage(db.stores, { accountId: 'user' });
    const seen: unknown[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const listing = await listUsage(db.stores, { accountId: 'user', limit: 3, cursor });
      expect(listing.ledger.data.length).toBeLessThanOrEqual(3);
      seen.push(...listing.ledger.data);
      cursor = listing.ledger.next_cursor;
      if (cursor === null) break;
      expect(listing.ledger.has_more).toBe(true);
    }
    expect(seen).toEqual(all.ledger.data);
  });

  it('keeps only rows at or after since, a date or a time', async () => {
    const fromTime = await listUsage(db.stores, { accountId: 'user', since: '2026-11-01T08:02:00Z' });

    expect(fromTime.since).toBe('2026-11-01T08:02:00.000Z');
    expect(fromTime.ledger.data.map((row) => row.at)).toEqual(['2026-11-01T08:03:00.000Z', '2026-11-01T08:02:00.000Z']);
    expect((await listUsage(db.stores, { accountId: 'user', since: '2026-11-02' })).ledger.data).toEqual([]);
    expect((await listUsage(db.stores, { accountId: 'user', since: '2026-11-01' })).ledger.data).toHaveLength(4);
  });

  it.each<Partial<UsageQuery>>([
    { limit: 0 },
    { limit: 1001 },
    { limit: 2.5 },
    { since: 'yesterday' },
    { cursor: 'abc' },
    { accountId: 'no such/id' },
  ])('refuses %j as invalid input', async (query) => {
    await expect(listUsage(db.stores, { accountId: 'user', ...query })).rejects.toThrow(InvalidInputError);
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

    const entry = (await listUsage(db.stores, { accountId: 'fell-back' })).ledger.data.find(
      (candidate) => candidate.type === 'usage',
    );

    expect(entry).toMatchObject({ model: 'gpt-spare', fallback_from: 'gpt-test' });
  });

  it('refuses an unknown account rather than showing it empty', async () => {
    await expect(listUsage(db.stores, { accountId: 'ghost' })).rejects.toThrow(NotFoundError);
    await expect(listUsage(db.stores, { accountId: 'ghost' })).rejects.toThrow("Unknown account 'ghost'");
  });
});
